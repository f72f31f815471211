"""Curation stages: one small datatrove step per concern, built from the config's `stages` list."""

from __future__ import annotations

from typing import Any

from pipelines.stages.base import CurationStage
from schemas.config import OPTOUT_AGENTS, PipelineConfig


def build_stage(stage: Any) -> CurationStage:
    """The per-document stage for one (non-dedup) stage config."""
    if stage.kind == "optout":
        from pipelines.stages.optout import OptOutChecker

        return OptOutChecker(
            agents=list(stage.agents or OPTOUT_AGENTS),
            robots_dir=stage.robots_dir,
            tdmrep_dir=stage.tdmrep_dir,
            x_robots_directives=list(stage.x_robots_directives),
        )
    if stage.kind == "extract":
        from pipelines.stages.extract import HtmlExtractor

        return HtmlExtractor(timeout_s=stage.timeout_s)
    if stage.kind == "normalize":
        from pipelines.stages.normalize import TextNormalizer

        return TextNormalizer()
    if stage.kind == "language":
        from pipelines.stages.language import LanguageTagger

        return LanguageTagger(
            languages=list(stage.languages), thresholds=dict(stage.thresholds) if stage.thresholds else None
        )
    if stage.kind == "quality":
        from pipelines.stages.quality import QualityFilter

        return QualityFilter(thresholds=stage.thresholds)
    if stage.kind == "pii":
        from pipelines.stages.pii import PiiRedactor

        return PiiRedactor(types=list(stage.types))
    raise ValueError(f"no per-document stage for kind {stage.kind!r}")


def near_dedup_params(config: PipelineConfig) -> Any | None:
    """``NearDedupParams`` from the `near_dedup` stage config, or None when near dedup is off."""
    near = config.stage("near_dedup")
    if near is None:
        return None
    from pipelines.stages.dedup import NearDedupParams

    return NearDedupParams(ngram=near.ngram, bands=near.bands, rows=near.rows, threshold=near.threshold)


def boilerplate_params(config: PipelineConfig) -> Any | None:
    """``BoilerplateParams`` from the `near_dedup` stage's `boilerplate`, or None when near dedup or
    its boilerplate removal is off."""
    near = config.stage("near_dedup")
    if near is None or not near.boilerplate.enabled:
        return None
    from pipelines.stages.boilerplate import BoilerplateParams

    settings = near.boilerplate.model_dump(exclude={"enabled"})
    return BoilerplateParams(**settings)


def build_dedup_signatures(config: PipelineConfig) -> CurationStage | None:
    """The step that computes dedup keys at the end of the curation phase, if it has any to compute:
    content keys for exact dedup, MinHash signatures for near dedup unless they are computed after
    the boilerplate statistics (see ``boilerplate_params``)."""
    exact = config.stage("exact_dedup") is not None
    near = near_dedup_params(config) if boilerplate_params(config) is None else None
    if not (exact or near):
        return None
    from pipelines.stages.dedup import DedupSignatures

    return DedupSignatures(exact=exact, near=near)


def curation_stages(config: PipelineConfig) -> list[CurationStage]:
    return [build_stage(s) for s in config.active_stages() if s.kind not in ("exact_dedup", "near_dedup")]
