"""The DSP provider's config (``provider.yaml``, YAML or JSON) validated by pydantic.

It names the participant and the datasets it offers: where their files are (any fsspec URL,
glob or folder, or a finished run's output folder) and the ODRL policy each is offered under.
Unknown keys and bad values are errors that name the key's path, as in the pipeline config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator

from schemas.config import Format, _Strict, parse_model, read_yaml

RULE_KEYS = ("permission", "prohibition", "obligation")


def check_policy(policy: dict[str, Any]) -> dict[str, Any]:
    """An ODRL policy in the shape the DSP schemas want: each rule kind and each rule's constraints
    as lists (a single object is accepted and made a one-item list), every rule naming its action.

    A policy must permit or prohibit something: an offer of obligations alone is not an offer.
    """
    if not any(key in policy for key in RULE_KEYS[:2]):
        raise ValueError("an ODRL policy needs a `permission` or a `prohibition`")
    checked = dict(policy)
    for key in RULE_KEYS:
        if key in policy:
            checked[key] = [_check_rule(rule, f"{key}[{i}]") for i, rule in enumerate(_as_list(policy[key]))]
            if not checked[key]:
                raise ValueError(f"`{key}` is empty; leave it out or give at least one rule")
    return checked


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_rule(rule: Any, where: str) -> dict[str, Any]:
    if not isinstance(rule, dict) or not isinstance(rule.get("action"), str) or not rule["action"]:
        raise ValueError(f"{where} must be an object with an `action` name, e.g. {{action: use}}")
    if "constraint" in rule:
        constraints = _as_list(rule["constraint"])
        if not all(isinstance(c, dict) for c in constraints):
            raise ValueError(f"{where}.constraint must hold constraint objects")
        return {**rule, "constraint": constraints}
    return rule


class DatasetOffer(_Strict):
    """One dataset in the catalog: its files and the policy it is offered under."""

    id: Annotated[str, Field(min_length=1)]
    title: str | None = None  # a run output folder's manifest names it when this is not set
    description: str | None = None
    url: Annotated[str, Field(min_length=1)]  # fsspec URL, glob, folder or a run's output folder
    format: Format | None = None  # reader format of the files; default: from each file's extension
    license: str | None = None
    policy: dict[str, Any]  # ODRL: permission / prohibition / obligation, each with action and constraints
    # True: answer a contract request first with a counter-offer of the same policy under a new offer id;
    # a policy: counter-offer that policy instead.
    counter_offer: bool | dict[str, Any] = False

    @field_validator("policy")
    @classmethod
    def _policy_has_rules(cls, policy: dict[str, Any]) -> dict[str, Any]:
        return check_policy(policy)

    @field_validator("counter_offer", mode="before")
    @classmethod
    def _counter_offer_flag_or_policy(cls, counter: Any) -> bool | dict[str, Any]:
        if isinstance(counter, dict):
            return check_policy(counter)
        if isinstance(counter, bool):
            return counter
        raise ValueError("must be true, false or an ODRL policy")


class ProviderConfig(_Strict):
    """A DSP provider: who it is in the data space, what it offers, and how long its tokens live."""

    participant_id: Annotated[str, Field(min_length=1)]
    title: str | None = None
    datasets: Annotated[list[DatasetOffer], Field(min_length=1)]
    token_ttl_s: Annotated[float, Field(gt=0)] = 3600.0  # how long a data-plane token is honoured
    callback_timeout_s: Annotated[float, Field(gt=0)] = 10.0  # per request to a consumer's callback

    @field_validator("datasets")
    @classmethod
    def _unique_ids(cls, datasets: list[DatasetOffer]) -> list[DatasetOffer]:
        ids = [d.id for d in datasets]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"dataset ids must be unique; repeated: {', '.join(repeated)}")
        return datasets

    def dataset(self, dataset_id: str) -> DatasetOffer | None:
        return next((d for d in self.datasets if d.id == dataset_id), None)


def parse_provider_config(data: Any, origin: str = "provider config") -> ProviderConfig:
    """Validate an already-loaded mapping; raise :class:`ConfigError` naming every bad key path."""
    return parse_model(ProviderConfig, data, origin)


def load_provider_config(path: str | Path) -> ProviderConfig:
    """Read a YAML/JSON provider config file."""
    return parse_provider_config(read_yaml(Path(path), "provider config"), origin=str(path))
