"""An explanation's parameters: defaults filled in and every value checked, so the job never guesses.

Defaults: Grad-CAM on the architecture's own target layer, maps of the predicted class, the test
split ("auto": test, else val, else every member), every class, all members, seed 0, batches of
32, device "auto", ROAD combined over removal percentiles 20/40/60/80 (an empty list skips ROAD,
its imputation is the slow part) and the confidence drop; masks "auto" for the mask scores (the dataset's
own masks, else the version's stored estimated masks, else none: the scores are then undefined).
"""

from typing import Any

from core.api_errors import ApplicationError
from explain.models import CamMethod
from explain.params import TARGETS, ExplanationParams
from jobs.runs.kinds import params_defaults
from robustness.evaluation.services.masks import masks_param_check

DEFAULTS: dict[str, Any] = params_defaults(ExplanationParams)


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_params")


def _positive_int(value: Any, name: str, *, optional: bool) -> None:
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _invalid(f"{name} must be a positive integer.")


def explanation_params_validate(*, method: str, params: dict[str, Any], model_classes: list[str]) -> dict[str, Any]:
    """The params with defaults filled in, or ApplicationError invalid_method / invalid_params."""
    if method not in CamMethod.values:
        raise ApplicationError(
            f"Unknown explanation method {method!r}; known: {', '.join(CamMethod.values)}.", code="invalid_method"
        )
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise _invalid(f"Unknown parameter(s): {', '.join(unknown)}; known: {', '.join(DEFAULTS)}.")
    merged = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    if merged["target"] not in TARGETS:
        raise _invalid(f"target must be one of {', '.join(TARGETS)}.")
    _positive_int(merged["max_samples"], "max_samples", optional=True)
    _positive_int(merged["batch_size"], "batch_size", optional=False)
    if not isinstance(merged["seed"], int) or isinstance(merged["seed"], bool) or merged["seed"] < 0:
        raise _invalid("seed must be an integer ≥ 0.")
    if merged["classes"] is not None:
        if not isinstance(merged["classes"], list) or not all(isinstance(c, str) for c in merged["classes"]):
            raise _invalid("classes must be a list of class names.")
        classes = list(merged["classes"])
        unknown_classes = sorted(set(classes) - set(model_classes))
        if not classes or unknown_classes:
            raise _invalid(f"classes must be among the model's classes ({', '.join(model_classes)}).")
        merged["classes"] = sorted(set(classes), key=model_classes.index)
    percentiles = merged["road_percentiles"]
    if not isinstance(percentiles, list) or not all(isinstance(p, int) and 0 < p < 100 for p in percentiles):
        raise _invalid("road_percentiles must be a list of integers between 1 and 99 (empty: no ROAD).")
    merged["road_percentiles"] = sorted(set(percentiles))
    if not isinstance(merged["device"], str) or merged["device"].split(":")[0] not in ("auto", "cpu", "cuda"):
        raise _invalid("device must be auto, cpu, cuda or cuda:N.")
    merged["masks"] = masks_param_check(merged["masks"])
    return merged
