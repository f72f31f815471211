"""The quality stage's thresholds: one value per rule, per language, settable in the config.

:class:`QualityThresholds` has a field for every rule of :mod:`pipelines.stages.quality` that has a
threshold (``c4_lorem_ipsum`` and ``c4_curly_bracket`` have none), named as the rule and its reason
``quality:<rule>``; the field defaults are the published Gopher, C4 and FineWeb values
(``fineweb_char_dup``: FineWeb-2's 0.1; English keeps FineWeb's 0.01). :data:`LANGUAGE_DEFAULTS`
holds what differs by language (the quality module says where those values come from). A config
sets any of them under ``thresholds``: ``default`` for every language, a language code for one
language (it wins over ``default``, which wins over the built-in values). :func:`resolve_thresholds`
turns that into every language's complete table, which is what the stage runs with and what a
run's config dump (and so its manifest) records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_KEY = "default"  # the thresholds of every language without its own entry
ThresholdsKey = Annotated[str, Field(pattern=r"^(default|[a-z]{2,3})$")]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Ratio = Annotated[float, Field(ge=0.0)]
Words = Annotated[int, Field(ge=0)]


class QualityThresholds(BaseModel):
    """A document fails a rule when its measure lies beyond the rule's value (see the quality module)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gopher_min_words: Words = 50  # fewer words fail
    gopher_max_words: Words = 100_000  # more words fail
    gopher_dup_line_frac: Share = 0.3  # share of lines repeating an earlier line
    gopher_dup_para_frac: Share = 0.3  # share of paragraphs repeating an earlier one
    gopher_dup_line_char_frac: Share = 0.2  # share of characters in repeated lines
    gopher_dup_para_char_frac: Share = 0.2  # share of characters in repeated paragraphs
    gopher_top_2gram: Share = 0.20  # share of word characters in the most frequent n-gram
    gopher_top_3gram: Share = 0.18
    gopher_top_4gram: Share = 0.16
    gopher_dup_5gram: Share = 0.15  # share of word characters covered by repeated n-grams
    gopher_dup_6gram: Share = 0.14
    gopher_dup_7gram: Share = 0.13
    gopher_dup_8gram: Share = 0.12
    gopher_dup_9gram: Share = 0.11
    gopher_dup_10gram: Share = 0.10
    gopher_mean_word_length: tuple[Ratio, Ratio] = (3.0, 10.0)  # [min, max] characters
    gopher_symbol_ratio: Ratio = 0.1  # '#' or ellipses per word
    gopher_bullet_lines: Share = 0.9  # share of lines starting with a bullet
    gopher_ellipsis_lines: Share = 0.3  # share of lines ending with an ellipsis
    gopher_alpha_words: Share = 0.8  # fewer words with a letter fail
    gopher_stop_words: Words = 2  # fewer stop words of the language fail
    c4_javascript: Share = 0.1  # share of characters in lines mentioning javascript
    stop_word_ratio: Share = 0.0  # fewer stop words among the words of 3+ letters fail (0: off)
    fineweb_line_punct: Share = 0.12  # fewer lines ending in terminal punctuation (or of 200+ chars) fail
    fineweb_short_lines: Share = 0.67  # share of lines of at most 30 characters
    fineweb_char_dup: Share = 0.1  # share of (non-newline) characters in repeated lines (FineWeb-2's)
    fineweb_list_ratio: Ratio = 0.3  # newlines per word

    @model_validator(mode="before")
    @classmethod
    def _known_rules(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(map(str, data)) - set(cls.model_fields))
            if unknown:
                raise ValueError(
                    f"unknown quality rule {', '.join(map(repr, unknown))}; "
                    f"the rules with a threshold are: {', '.join(cls.model_fields)}"
                )
        return data

    @model_validator(mode="after")
    def _bounds_in_order(self) -> QualityThresholds:
        low, high = self.gopher_mean_word_length
        if low > high:
            raise ValueError(f"gopher_mean_word_length: the minimum {low} is above the maximum {high}")
        return self


# What differs by language from the field defaults above (the quality module says how they were set).
LANGUAGE_DEFAULTS: dict[str, dict[str, Any]] = {
    "de": {"gopher_mean_word_length": (3.5, 12.5), "stop_word_ratio": 0.15},
    "hu": {"gopher_mean_word_length": (4.0, 13.5), "stop_word_ratio": 0.03},
    "nl": {"gopher_mean_word_length": (3.5, 11.0), "stop_word_ratio": 0.1},
    "en": {"gopher_mean_word_length": (3.0, 10.0), "stop_word_ratio": 0.1, "fineweb_char_dup": 0.01},
}


def resolve_thresholds(configured: Mapping[str, QualityThresholds]) -> dict[str, QualityThresholds]:
    """Every language's complete thresholds: ``default`` first, then the languages with built-in
    values or a configured entry, sorted. A value comes from the language's configured entry, else
    the configured ``default``, else the language's built-in value, else the field default.

    A resolved table resolves to itself (every entry sets every field), so a run's config dump
    parses back to the same thresholds.
    """
    general = configured.get(DEFAULT_KEY)
    languages = sorted((set(LANGUAGE_DEFAULTS) | set(configured)) - {DEFAULT_KEY})

    def merged(lang: str) -> QualityThresholds:
        values = dict(LANGUAGE_DEFAULTS.get(lang, {}))
        for layer in (general, configured.get(lang)):
            if layer is not None:
                values.update({name: getattr(layer, name) for name in layer.model_fields_set})
        return QualityThresholds(**values)

    return {DEFAULT_KEY: merged(DEFAULT_KEY), **{lang: merged(lang) for lang in languages}}


def departures(thresholds: Mapping[str, QualityThresholds]) -> dict[str, dict[str, Any]]:
    """Per language, the values (as JSON) that differ from the field defaults; languages with none omitted."""
    general = QualityThresholds().model_dump(mode="json")
    differing = {
        lang: {
            rule: value for rule, value in values.model_dump(mode="json").items() if value != general[rule]
        }
        for lang, values in thresholds.items()
    }
    return {lang: rules for lang, rules in differing.items() if rules}
