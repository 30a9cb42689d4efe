"""An evaluation's parameters: defaults filled in and every value checked, so the job never guesses.

Defaults: the test split ("auto": test, else val, else every member), all members, seed 0,
batches of 64, device "auto"; the 15 benchmark corruptions at severities 1–5; FGSM and PGD with
docs/METHODS.md §6 defaults for the model's input size (chosen by the job), on at most 500 samples;
the null control, background swap, object scale (×0.6), position and rotation (±45°); synthetic
samples left out (include_synthetic false); masks "auto" (the dataset's own, else stored estimated ones); no
sample groups (slice_reports: failure-slice reports whose slices are scored as groups, services/groups.py).
"""

from typing import Any

from core.api_errors import ApplicationError
from jobs.runs.kinds import params_defaults
from robustness.evaluation.models import Suite
from robustness.evaluation.params import EvaluationParams
from robustness.evaluation.services.groups import GROUP_PARAMS, group_ids_check
from robustness.evaluation.services.masks import masks_param_check
from robustness.ml.corruptions import MIN_SIDE, SEVERITIES, corruption_names
from robustness.ml.registry import ATTACKS, EDITS

SUITE_ORDER = [Suite.CLEAN.value, Suite.CORRUPTIONS.value, Suite.ADVERSARIAL.value, Suite.ATTRIBUTES.value]
BACKGROUND_SOURCES = ("auto", "demo_bank", "version_images")
EDIT_PARAMS = {"object_scale": ("factor", 0.6), "object_rotation": ("degrees", 45.0)}


DEFAULTS: dict[str, Any] = params_defaults(EvaluationParams)


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid_params")


def _suites(suites: list[str]) -> list[str]:
    unknown = sorted(set(suites) - set(SUITE_ORDER))
    if unknown:
        raise ApplicationError(
            f"Unknown suite(s) {', '.join(unknown)}; known: {', '.join(SUITE_ORDER)}.", code="invalid_suites"
        )
    return [s for s in SUITE_ORDER if s in suites or s == Suite.CLEAN]


def _positive_int_or_none(params: dict[str, Any], name: str) -> None:
    value = params[name]
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise _invalid(f"{name} must be a positive integer.")


def _edits(names: list[Any], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Edit names (or {"name": ..., params} objects) as specs with their parameters filled in."""
    specs = []
    for entry in names:
        spec = dict(entry) if isinstance(entry, dict) else {"name": entry}
        if spec.get("name") not in EDITS:
            raise _invalid(f"Unknown attribute edit {spec.get('name')!r}; known: {', '.join(EDITS)}.")
        if spec["name"] in EDIT_PARAMS:
            key, default = EDIT_PARAMS[spec["name"]]
            spec[key] = float(spec.get(key, params.get(f"{spec['name']}_{key}", default)))
        specs.append(spec)
    return specs


def evaluation_params_validate(
    *, suites: list[str], params: dict[str, Any], image_size: int
) -> tuple[list[str], dict[str, Any]]:
    """(suites in order, params with defaults) or ApplicationError invalid_suites / invalid_params."""
    suites = _suites(list(suites))
    unknown = sorted(set(params) - set(DEFAULTS) - {f"{e}_{k}" for e, (k, _) in EDIT_PARAMS.items()})
    if unknown:
        raise _invalid(f"Unknown parameter(s): {', '.join(unknown)}.")
    merged = {**DEFAULTS, **{k: v for k, v in params.items() if v is not None}}
    for name in ("max_samples", "batch_size", "ece_bins", "adversarial_max_samples", "pgd_steps", "pgd_long_steps"):
        _positive_int_or_none(merged, name)
    if not isinstance(merged["seed"], int) or merged["seed"] < 0:
        raise _invalid("seed must be an integer ≥ 0.")
    merged["severities"] = sorted({int(s) for s in merged["severities"]})
    if not merged["severities"] or not set(merged["severities"]) <= set(SEVERITIES):
        raise _invalid("severities must be among 1–5.")
    bad = sorted(set(merged["corruptions"]) - set(corruption_names("all")))
    if bad or not merged["corruptions"]:
        raise _invalid(f"Unknown corruption(s) {', '.join(bad) or '(none given)'}.")
    if Suite.CORRUPTIONS in suites and image_size < MIN_SIDE:
        raise _invalid(f"Corruptions need inputs of at least {MIN_SIDE} px; this model takes {image_size} px.")
    if not merged["attacks"] or not set(merged["attacks"]) <= set(ATTACKS):
        raise _invalid(f"attacks must be among {', '.join(sorted(ATTACKS))}.")
    if merged["eps"] is not None:
        merged["eps"] = sorted({float(e) for e in merged["eps"]})
        if not all(0.0 <= e <= 1.0 for e in merged["eps"]):
            raise _invalid("eps values must lie in [0, 1] (pixels are in [0, 1]).")
    merged["edits"] = _edits(list(merged["edits"]), params)
    if not isinstance(merged["include_synthetic"], bool):
        raise _invalid("include_synthetic must be true or false.")
    merged["masks"] = masks_param_check(merged["masks"])
    for name in GROUP_PARAMS:
        merged[name] = group_ids_check(name, merged[name])
    if merged["background_source"] not in BACKGROUND_SOURCES:
        raise _invalid(f"background_source must be one of {', '.join(BACKGROUND_SOURCES)}.")
    if not isinstance(merged["device"], str) or merged["device"].split(":")[0] not in ("auto", "cpu", "cuda"):
        raise _invalid("device must be auto, cpu, cuda or cuda:N.")
    return suites, merged
