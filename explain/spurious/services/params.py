"""A report's parameters: defaults filled in and every value checked, so the job never guesses.

Defaults: the train split ("auto": train when the version has one, else every member), because the
features a model learnt to rely on are the ones that co-occur with its classes in the data it was
trained on (ASPIRE probes training images); every labelled member, seed 0; 3 background swaps per
image; features need 5 images of a class to be ranked; the background pull on at most 200 images;
batches of 64 on device "auto"; example edits for each class's top 3 features, 2 each; masks "auto"
(the dataset's own, else the version's stored estimated masks).
"""

from typing import Any

from core.api_errors import ApplicationError
from curation.models import DatasetVersion, Split, VersionSample
from explain.spurious.params import SpuriousParams
from jobs.runs.kinds import params_defaults
from robustness.evaluation.services.dataset import ALL_SPLITS
from robustness.evaluation.services.masks import masks_param_check

DEFAULTS: dict[str, Any] = params_defaults(SpuriousParams)
POSITIVE_INTS = ("swaps_per_image", "min_support", "pull_max_samples", "batch_size", "example_features")


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_params")


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def spurious_split_resolve(*, version: DatasetVersion, split: str) -> str:
    """'auto' is the train split when the version has one, else every member ('all')."""
    if split == "auto":
        present = VersionSample.objects.filter(version=version, split=Split.TRAIN).exists()
        return Split.TRAIN.value if present else ALL_SPLITS
    if split != ALL_SPLITS and split not in Split.values:
        raise _invalid(f"Unknown split {split!r}; use auto, all or one of {', '.join(Split.values)}.")
    return split


def spurious_params_validate(params: dict[str, Any]) -> dict[str, Any]:
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
    if merged["max_samples"] is not None and not _positive_int(merged["max_samples"]):
        raise _invalid("max_samples must be a positive integer.")
    if not isinstance(merged["examples_per_feature"], int) or not 0 <= merged["examples_per_feature"] <= 10:
        raise _invalid("examples_per_feature must be an integer from 0 to 10.")
    if not isinstance(merged["seed"], int) or isinstance(merged["seed"], bool) or merged["seed"] < 0:
        raise _invalid("seed must be an integer ≥ 0.")
    if not isinstance(merged["pull"], bool):
        raise _invalid("pull must be true or false.")
    if not isinstance(merged["split"], str):
        raise _invalid("split must be a string.")
    if not isinstance(merged["device"], str) or merged["device"].split(":")[0] not in ("auto", "cpu", "cuda"):
        raise _invalid("device must be auto, cpu, cuda or cuda:N.")
    merged["masks"] = masks_param_check(merged["masks"])
    return merged
