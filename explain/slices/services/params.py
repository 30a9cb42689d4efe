"""A failure-slice report's parameters: defaults filled in and every value checked, so the job never guesses.

Defaults: the held-out split ("auto": test when the version has one, else val; never the training data
unless `all` is asked for), every labelled member, features "auto" (the embedding set named, else the model's own
penultimate features; "embeddings" takes the version's newest ready set when none is named), slices of at
least 3 samples, at most 8 clusters per class, the foreign context from 20 training neighbours joined at weight 4
and leading the ranking within its tiers (context_k 20, context_weight 4), no true-class or prediction column
(true_class_weight 0, prediction_weight 0; docs/METHODS.md §13, third round), 8 typical images per slice, batches
of 64 on device "auto", seed 0.
"""

from typing import Any

from core.api_errors import ApplicationError
from curation.models import DatasetVersion, Split, VersionSample
from explain.slices.params import SliceParams
from jobs.runs.kinds import params_defaults
from robustness.evaluation.services.dataset import ALL_SPLITS

HELD_OUT_ORDER = (Split.TEST, Split.VAL)
DEFAULTS: dict[str, Any] = params_defaults(SliceParams)
FEATURES = ("auto", "embeddings", "model")
POSITIVE_INTS = ("min_size", "max_slices_per_class", "gallery_size", "batch_size")
WEIGHTS = {"prediction_weight": 10, "true_class_weight": 100, "context_weight": 100}  # the largest value each accepts


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_params")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def slices_split_resolve(*, version: DatasetVersion, split: str) -> str:
    """'auto' is the test split, else val; a version with neither is `no_held_out` (400), never its training data."""
    if split != "auto":
        if split != ALL_SPLITS and split not in Split.values:
            raise _invalid(f"Unknown split {split!r}; use auto, all or one of {', '.join(Split.values)}.")
        return split
    present = set(VersionSample.objects.filter(version=version).values_list("split", flat=True).distinct())
    held_out = next((s.value for s in HELD_OUT_ORDER if s in present), None)
    if held_out is None:
        raise ApplicationError(
            f"Version {version.number} of {version.dataset.name!r} has no held-out samples (no test or val split): "
            "failure slices are searched among samples the model did not train on. Give the version a test "
            "split, or name a split (--split all searches every member, training data included).",
            code="no_held_out",
            details={"splits": sorted(present)},
        )
    return held_out


def slices_params_validate(params: dict[str, Any]) -> dict[str, Any]:
    """The params with defaults, or ApplicationError invalid_params naming the first bad value."""
    if not isinstance(params, dict):
        raise _invalid("params must be an object.")
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise _invalid(f"Unknown parameter(s): {', '.join(unknown)}; known: {', '.join(DEFAULTS)}.")
    merged = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    for name in POSITIVE_INTS:
        if not _positive_int(merged[name]):
            raise _invalid(f"{name} must be a positive integer.")
    if not isinstance(merged["context_k"], int) or isinstance(merged["context_k"], bool) or merged["context_k"] < 0:
        raise _invalid("context_k must be an integer ≥ 0.")
    if merged["max_samples"] is not None and not _positive_int(merged["max_samples"]):
        raise _invalid("max_samples must be a positive integer.")
    for name, top in WEIGHTS.items():
        weight = merged[name]
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= top:
            raise _invalid(f"{name} must be a number from 0 to {top}.")
        merged[name] = float(weight)
    if not isinstance(merged["seed"], int) or isinstance(merged["seed"], bool) or merged["seed"] < 0:
        raise _invalid("seed must be an integer ≥ 0.")
    if merged["features"] not in FEATURES:
        raise _invalid(f"features must be one of {', '.join(FEATURES)}.")
    if not isinstance(merged["split"], str):
        raise _invalid("split must be a string.")
    if not isinstance(merged["device"], str) or merged["device"].split(":")[0] not in ("auto", "cpu", "cuda"):
        raise _invalid("device must be auto, cpu, cuda or cuda:N.")
    return merged
