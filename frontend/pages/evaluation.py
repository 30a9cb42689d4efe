"""Evaluation pages: the runs list, the start form (admins), a run's report, example images, compare.

The report's live part is the run kit's partial `frontend/runs/_status.html`: while the run's
job is not finished it polls every 2 s (htmx requests get the partial alone); once the job has
finished the next poll answers with HX-Refresh, so the page reloads once with its charts. The
figures are built by the selectors and sent once as JSON (json_script), drawn by charts.js.
"""

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from core.roles import Capability, capability_required, user_can
from frontend.pages.run_lists import newest_first_page
from frontend.pages.runs import run_example_image, run_finished, run_start_page, run_status_poll
from robustness.evaluation.job_kinds import EVALUATION
from robustness.evaluation.models import EvaluationRun, Suite
from robustness.evaluation.params import SUITES
from robustness.evaluation.selectors import (
    compare_figures,
    comparison_row,
    corruption_table,
    evaluation_baseline_candidates,
    evaluation_run_get,
    evaluation_run_list,
    evaluation_summary,
    pruning_frontier_figure,
    report_figures,
    sample_group_compare,
)
from robustness.evaluation.selectors.runs import run_label

RUNS_PAGE_SIZE = 50
COMPARE_MAX_RUNS = 12
# Which suite's checkbox shows a parameter on the start form (method_fields.js hides the others).
SHOWN_WITH = {
    Suite.CORRUPTIONS: ("corruptions", "severities"),
    # (not random_start: a hidden checkbox is not sent, which would read as false)
    Suite.ADVERSARIAL: ("attacks", "eps", "default_eps", "alpha_ratio", "pgd_steps", "pgd_long_steps",
                        "adversarial_max_samples"),
    Suite.ATTRIBUTES: ("edits", "background_source", "masks"),
}  # fmt: skip


@capability_required(Capability.VIEW)
def evaluation_list(request: HttpRequest) -> HttpResponse:
    """Runs newest first in keyset pages (`?before=<id>`); tick runs to compare them."""
    runs = evaluation_run_list()
    shown, next_before = newest_first_page(request, runs, RUNS_PAGE_SIZE)
    context = {
        "runs": shown,
        "next_before": next_before,
        "can_start": user_can(request.user, Capability.RUN_GPU_JOBS),
        "nav_section": "evaluations",
    }
    return render(request, "frontend/evaluation/evaluation_list.html", context)


@require_http_methods(["GET", "POST"])
@capability_required(Capability.RUN_GPU_JOBS)
def evaluation_start(request: HttpRequest) -> HttpResponse:
    """The start form (generated from EvaluationParams); a valid request creates the run and opens the report."""
    return run_start_page(
        request, kind=EVALUATION, template="frontend/evaluation/evaluation_start.html",
        list_url_name="frontend:evaluation_list", nav_section="evaluations", form_setup=_start_form_setup,
    )  # fmt: skip


def _start_form_setup(form: forms.Form) -> None:
    """Baselines: the finished runs with corruption results, by their label; a suite's parameters show with it."""
    baseline = form.fields["baseline"]
    baseline.queryset = evaluation_baseline_candidates(dataset_id=None)  # type: ignore[attr-defined]
    baseline.label_from_instance = run_label  # type: ignore[attr-defined]
    suite_ids = {suite: f"id_suites_{index}" for index, (suite, _) in enumerate(SUITES)}
    for suite, names in SHOWN_WITH.items():
        for name in names:
            form.fields[name].show_for = suite_ids[suite]  # type: ignore[attr-defined]


def _run_or_404(run_id: int) -> EvaluationRun:
    run = evaluation_run_get(run_id)
    if run is None:
        raise Http404(f"Evaluation run {run_id} does not exist.")
    return run


def _original_caption(example: dict[str, Any] | None) -> str:
    """ "Original: cat, predicted cat" (runs before captions were stored: "Original")."""
    if not example:
        return "Original"
    return f"Original: {example['label']}, predicted {example['clean_prediction']}"


def _attack_examples(attack: str, adversarial: dict[str, Any]) -> list[tuple[str, str]]:
    """(example image name, caption) of an attack's adversarial image and magnified perturbation."""
    eps = f"ε = {float(adversarial.get('example_eps', 0)) * 255:g}/255"
    predicted = (adversarial.get("example") or {}).get("adversarial_predictions", {}).get(attack)
    adversarial_caption = f"{attack.upper()} at {eps}" + (f": predicted {predicted}" if predicted else "")
    return [
        (f"adversarial/{attack}/adversarial", adversarial_caption),
        (f"adversarial/{attack}/perturbation", f"{attack.upper()} perturbation ({eps}, magnified)"),
    ]


def _example_rows(run: EvaluationRun) -> dict[str, Any]:
    """Example image names grouped for the report: per corruption by severity, per attack, per edit."""
    names = set(run.examples)
    corruptions = (run.results.get(Suite.CORRUPTIONS) or {}).get("corruptions", {})
    severities = (run.results.get(Suite.CORRUPTIONS) or {}).get("severities", [])
    adversarial = run.results.get(Suite.ADVERSARIAL) or {}
    attacks = adversarial.get("curves", {})
    edits = (run.results.get(Suite.ATTRIBUTES) or {}).get("edits", {})
    return {
        "corruptions": [
            (name, [f"corruptions/{name}/{s}" for s in severities if f"corruptions/{name}/{s}" in names])
            for name in corruptions
        ],
        "corruption_severities": severities,
        "attacks": [(attack, _attack_examples(attack, adversarial)) for attack in attacks],
        "original_caption": _original_caption(adversarial.get("example")),
        "edit_columns": ["original", *edits],
        "edit_rows": [
            [f"attributes/{column}/{n}" for column in ["original", *edits]]
            for n in range(2)
            if f"attributes/original/{n}" in names
        ],
    }


@capability_required(Capability.VIEW)
def evaluation_report(request: HttpRequest, run_id: int) -> HttpResponse:
    """A run's report; for htmx polls only the status partial (HX-Refresh once the job has finished)."""
    run = _run_or_404(run_id)
    poll = run_status_poll(request, EVALUATION, run)
    if poll is not None:
        return poll
    finished = run_finished(run)
    table = corruption_table(run)
    context = {
        "run": run,
        "kind": EVALUATION,
        "finished": finished,
        "summary": evaluation_summary(run),
        "results": run.results,
        "table": table,
        "figures": report_figures(run, table),
        "examples": _example_rows(run),
        "params_items": sorted(run.params.items()),
        "nav_section": "evaluations",
    }
    return render(request, "frontend/evaluation/evaluation_report.html", context)


@capability_required(Capability.VIEW)
def evaluation_example(request: HttpRequest, run_id: int, name: str) -> HttpResponseBase:
    """One stored example image of a run, by its name in the report (e.g. corruptions/fog/3)."""
    return run_example_image(_run_or_404(run_id), name)


def _compare_runs(request: HttpRequest) -> list[EvaluationRun]:
    ids = [int(v) for v in request.GET.getlist("runs") if v.isdigit()][:COMPARE_MAX_RUNS]
    runs = list(evaluation_run_list().filter(pk__in=ids)) if ids else []
    version = request.GET.get("version", "")
    if version.isdigit():
        seen = {run.trained_model_id for run in runs}
        for run in evaluation_run_list().filter(version_id=int(version), job__status="succeeded"):
            if run.trained_model_id not in seen and len(runs) < COMPARE_MAX_RUNS:
                seen.add(run.trained_model_id)  # the newest run per model
                runs.append(run)
    return sorted(runs, key=lambda run: run.pk)


@capability_required(Capability.VIEW)
def evaluation_compare(request: HttpRequest) -> HttpResponse:
    """Runs side by side (`?runs=1&runs=2`, or every model's newest run on `?version=<id>`) and the pruning frontier."""
    runs = _compare_runs(request)
    rows = [comparison_row(run) for run in runs]
    figures = compare_figures(rows, runs) if runs else {}
    eval_versions = {run.version_id for run in runs}
    training_datasets = {run.trained_model.trained_on.dataset_id for run in runs}
    frontier_ok = len(runs) >= 2 and len(eval_versions) == 1 and len(training_datasets) == 1
    if frontier_ok:
        figures["frontier-figure"] = pruning_frontier_figure(rows)
    context = {
        "runs": runs,
        "rows": rows,
        "figures": figures,
        "frontier_ok": frontier_ok,
        "frontier_note": _frontier_note(runs, eval_versions, training_datasets),
        "slice_tables": sample_group_compare(runs),
        "nav_section": "evaluations",
    }
    return render(request, "frontend/evaluation/evaluation_compare.html", context)


def _frontier_note(runs: list[EvaluationRun], eval_versions: set[int], training_datasets: set[int]) -> str:
    if len(runs) < 2:
        return "Pick at least two runs for a pruning frontier."
    if len(eval_versions) > 1:
        return "The frontier needs runs evaluated on one version; these runs used several."
    if len(training_datasets) > 1:
        return "The frontier needs models trained on versions of one dataset."
    return ""
