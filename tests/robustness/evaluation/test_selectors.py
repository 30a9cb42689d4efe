"""Report numbers: mCE against the picked baseline (or unnormalised, said so), summaries, keep fractions, figures."""

import pytest

from curation.models import VersionOperation
from jobs.models import JobStatus
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.selectors import (
    comparison_row,
    corruption_table,
    evaluation_summary,
    pruning_frontier_figure,
    report_figures,
    training_keep_fraction,
)
from tests.factories import DatasetVersionFactory, JobFactory
from tests.robustness.factories import TrainedModelFactory

pytestmark = pytest.mark.django_db


def corruption_results(errors: dict[str, list[float]], clean_error: float) -> dict:
    rows = {
        name: {str(s + 1): {"accuracy": 1 - e, "error": e} for s, e in enumerate(row)} for name, row in errors.items()
    }
    severities = list(range(1, len(next(iter(errors.values()))) + 1))
    return {"seed": 0, "severities": severities, "corruptions": rows, "clean_error": clean_error}


def finished_run(version, *, clean_error: float, errors: dict[str, list[float]] | None = None, baseline=None, **extra):
    clean = {
        "top1": 1 - clean_error, "count": 10, "ece": 0.1, "ece_bins": 2, "groups": None, "classes": ["cat", "dog"],
        "confusion": [[5, 0], [1, 4]], "per_class": {"cat": 1.0, "dog": 0.8},
        "reliability": [{"lower": 0.0, "upper": 0.5, "count": 0, "accuracy": None, "confidence": None},
                        {"lower": 0.5, "upper": 1.0, "count": 10, "accuracy": 0.9, "confidence": 0.8}],
    }  # fmt: skip
    results = {"clean": {**clean, **extra.pop("clean", {})}}
    if errors:
        results["corruptions"] = corruption_results(errors, clean_error)
    results |= extra
    trained = extra.get("trained_model") or TrainedModelFactory(run__version=version)
    results.pop("trained_model", None)
    job = JobFactory(kind="evaluate", status=JobStatus.SUCCEEDED)
    return EvaluationRun.objects.create(
        trained_model=trained, version=version, suites=list(results), results=results, baseline=baseline, job=job
    )


def test_without_a_baseline_the_table_has_unnormalised_errors_and_says_so():
    run = finished_run(DatasetVersionFactory(), clean_error=0.1, errors={"fog": [0.2, 0.4], "snow": [0.3, 0.3]})

    table = corruption_table(run)

    assert table["baseline"] is None and table["mce"] is None
    assert table["rows"]["fog"]["mean_error"] == pytest.approx(0.3)
    assert table["mean_error"] == pytest.approx(0.3)
    assert "No baseline run was picked" in table["note"]


def test_with_a_baseline_the_table_has_ce_mce_and_names_the_baseline():
    version = DatasetVersionFactory()
    base = finished_run(version, clean_error=0.2, errors={"fog": [0.4, 0.6], "snow": [0.5, 0.5]})
    run = finished_run(version, clean_error=0.1, errors={"fog": [0.2, 0.4], "snow": [0.3, 0.3]}, baseline=base)

    table = corruption_table(run)

    assert table["rows"]["fog"]["ce"] == pytest.approx(0.6 / 1.0)
    assert table["rows"]["snow"]["relative_ce"] == pytest.approx(0.4 / 0.6)
    assert table["mce"] == pytest.approx((0.6 + 0.6) / 2)
    assert table["baseline"]["id"] == base.pk
    assert f"#{base.pk} {base.trained_model.name}" in table["note"]


def test_summary_gathers_the_headline_numbers():
    adversarial = {
        "settings": {"default_eps": 8 / 255},
        "curves": {"pgd": [{"eps": 0.0, "robust_accuracy": 0.9}, {"eps": 8 / 255, "robust_accuracy": 0.2}]},
        "pgd_long": {"robust_accuracy": 0.15},
    }
    attributes = {
        "edits": {"null": {"drop": 0.01}, "background_swap": {"drop": 0.3, "accuracy": 0.6}},
        "without_masks": 2,
    }
    groups = {"worst_accuracy": 0.4, "worst_group": "cat / other background", "gap": 0.5}
    run = finished_run(DatasetVersionFactory(), clean_error=0.1, adversarial=adversarial, attributes=attributes,
                       clean={"groups": groups})  # fmt: skip

    summary = evaluation_summary(run)

    assert summary["top1"] == pytest.approx(0.9)
    assert summary["pgd_robust_accuracy"] == 0.2 and summary["pgd_long_robust_accuracy"] == 0.15
    assert summary["edit_drops"] == {"null": 0.01, "background_swap": 0.3}
    assert summary["worst_group_gap"] == 0.5
    assert summary["mce"] is None


def test_keep_fraction_multiplies_out_chains_of_prunes():
    source = DatasetVersionFactory(sample_count=200)
    first = DatasetVersionFactory(dataset=source.dataset, parent=source, operation=VersionOperation.PRUNE,
                                  sample_count=100, operation_params={"method": "semdedup"})  # fmt: skip
    second = DatasetVersionFactory(dataset=source.dataset, parent=first, operation=VersionOperation.PRUNE,
                                   sample_count=50, operation_params={"method": "dbp"})  # fmt: skip

    assert training_keep_fraction(source) == (1.0, "unpruned")
    assert training_keep_fraction(first) == (0.5, "semdedup")
    assert training_keep_fraction(second) == (0.25, "semdedup + dbp")


def test_pruning_frontier_orders_runs_by_keep_fraction():
    source = DatasetVersionFactory(sample_count=100)
    pruned = DatasetVersionFactory(dataset=source.dataset, parent=source, operation=VersionOperation.PRUNE,
                                   sample_count=40)  # fmt: skip
    evaluated_on = DatasetVersionFactory(dataset=source.dataset)
    runs = [
        finished_run(evaluated_on, clean_error=0.3, trained_model=TrainedModelFactory(run__version=pruned)),
        finished_run(evaluated_on, clean_error=0.1, trained_model=TrainedModelFactory(run__version=source)),
    ]

    figure = pruning_frontier_figure([comparison_row(run) for run in runs])

    clean = next(trace for trace in figure["data"] if trace["name"] == "clean top-1")
    assert clean["x"] == [0.4, 1.0]
    assert clean["y"] == pytest.approx([0.7, 0.9])


def test_report_figures_are_empty_for_suites_that_did_not_run():
    run = finished_run(DatasetVersionFactory(), clean_error=0.1)

    figures = report_figures(run, corruption_table(run))

    assert figures["severity-figure"]["data"] == []
    assert figures["adversarial-figure"]["data"] == []
    assert figures["attribute-figure"]["data"] == []
    assert figures["confusion-figure"]["data"][0]["z"] == [[5, 0], [1, 4]]
    assert figures["reliability-figure"]["data"][0]["x"] == [0.75]  # only bins with samples are drawn
