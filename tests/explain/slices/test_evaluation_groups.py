"""A failure-slice report's slices as evaluation groups: accuracy per slice with Wilson intervals next to the
overall accuracy, the refusals, the CLI option and the compare page's per-slice rows for two models scored on
the same samples."""

import json

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from core.api_errors import ApplicationError
from explain.slices.services import slice_report_create
from jobs.models import JobStatus
from jobs.services import job_execute
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.selectors import sample_group_compare
from robustness.evaluation.services import evaluation_run_create
from robustness.ml.metrics import wilson_interval

pytestmark = pytest.mark.django_db


@pytest.fixture
def report(eval_version, stored_model, admin_user):
    """A finished slice report on a version with 6 + 6 test samples."""
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    report = slice_report_create(trained_model=stored_model(["cat", "dog"]), version=version,
                                 params={"device": "cpu", "min_size": 2}, requested_by=admin_user,
                                 enqueue=False)  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()
    assert report.status == JobStatus.SUCCEEDED, report.job.error
    return report


def evaluate(trained, version, user, **params) -> EvaluationRun:
    run = evaluation_run_create(trained_model=trained, version=version, suites=["clean"],
                                params={"device": "cpu", **params}, requested_by=user, enqueue=False)  # fmt: skip
    job_execute(run.job_id)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.job.error
    return run


def test_each_slice_is_scored_on_its_members_with_a_wilson_interval(report, stored_model, admin_user):
    other = stored_model(["dog", "cat"], fitted=False)

    run = evaluate(other, report.version, admin_user, slice_reports=[report.pk])

    clean = run.results["clean"]
    (group_set,) = clean["sample_groups"]
    assert group_set["source"] == "slice_report" and group_set["id"] == report.pk
    assert [g["key"] for g in group_set["groups"]] == [str(s["number"]) for s in report.results["slices"]]
    for group, entry in zip(group_set["groups"], report.results["slices"], strict=True):
        assert group["name"] == f"#{entry['number']} {entry['class']}" and group["class"] == entry["class"]
        assert group["members"] == group["count"] == entry["size"] and group["missing"] == 0
        assert 0 <= group["correct"] <= group["count"]
        assert group["accuracy"] == group["correct"] / group["count"]
        assert (group["ci_low"], group["ci_high"]) == pytest.approx(wilson_interval(group["correct"], group["count"]))
    page = Client()
    page.force_login(admin_user)
    html = page.get(f"/evaluations/{run.pk}/").content.decode()
    assert f'id="slice-groups-{report.pk}"' in html
    assert all(f'id="slice-group-{report.pk}-{g["key"]}"' in html for g in group_set["groups"])
    worst = min(group_set["groups"], key=lambda g: (g["accuracy"], -g["count"]))
    assert group_set["worst_group"] == worst["key"] and group_set["worst_accuracy"] == worst["accuracy"]
    # the report's own model, evaluated with its own report's groups, reproduces the report's slice accuracies
    same = evaluate(report.trained_model, report.version, admin_user, slice_reports=[report.pk])
    for group, entry in zip(same.results["clean"]["sample_groups"][0]["groups"], report.results["slices"],
                            strict=True):  # fmt: skip
        assert group["accuracy"] == entry["accuracy"] and group["correct"] == entry["correct"]


def test_members_outside_the_evaluated_samples_are_counted_as_missing(report, admin_user):
    run = evaluate(report.trained_model, report.version, admin_user, slice_reports=[report.pk], max_samples=5)

    groups = run.results["clean"]["sample_groups"][0]["groups"]
    assert sum(g["count"] for g in groups) <= 5
    assert all(g["count"] + g["missing"] == g["members"] for g in groups)
    assert all((g["accuracy"] is None) == (g["count"] == 0) for g in groups)


def test_unknown_unfinished_and_foreign_reports_are_refused_before_any_job(report, eval_version, stored_model,
                                                                         admin_user):  # fmt: skip
    trained = report.trained_model
    foreign = eval_version({"cat": 2, "dog": 2}, split="test")

    def start(version, slice_reports):
        params = {"slice_reports": slice_reports}
        return evaluation_run_create(
            trained_model=trained, version=version, suites=["clean"], params=params, requested_by=admin_user,
            enqueue=False,
        )  # fmt: skip

    with pytest.raises(ApplicationError) as unknown:
        start(report.version, [report.pk + 99])
    with pytest.raises(ApplicationError) as other_dataset:
        start(foreign, [report.pk])
    with pytest.raises(ApplicationError) as bad:
        start(report.version, ["x"])

    assert unknown.value.code == "not_found" and other_dataset.value.code == "invalid_groups"
    assert bad.value.code == "invalid_params"
    assert EvaluationRun.objects.count() == 0


def test_command_takes_slice_reports_and_the_api_takes_them_in_params(report, admin_user, capsys):
    call_command("evaluate", str(report.trained_model_id), str(report.version_id), "--device", "cpu",
                 "--slice-report", str(report.pk), "--user", admin_user.username)  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = EvaluationRun.objects.get(pk=summary["evaluation_run"])
    assert run.params["slice_reports"] == [report.pk]
    assert summary["slice_groups"][0]["id"] == report.pk

    client = Client()
    client.force_login(admin_user)
    response = client.post(
        "/api/evaluations/start/",
        {"trained_model": report.trained_model_id, "version": report.version_id,
         "params": {"slice_reports": [report.pk + 99]}},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_compare_rows_set_both_models_side_by_side_on_the_same_slices(report, stored_model, admin_user, viewer):
    other = stored_model(["dog", "cat"], fitted=False)
    before = evaluate(report.trained_model, report.version, admin_user, slice_reports=[report.pk])
    after = evaluate(other, report.version, admin_user, slice_reports=[report.pk])

    (table,) = sample_group_compare([before, after])
    page = Client()
    page.force_login(viewer)
    html = page.get(f"/evaluations/compare/?runs={before.pk}&runs={after.pk}").content.decode()

    assert table["id"] == report.pk and [row["key"] for row in table["rows"]] == [
        str(s["number"]) for s in report.results["slices"]
    ]
    for row in table["rows"]:
        first, second = row["cells"]
        assert first["count"] == second["count"] == row["members"]  # the same samples under both models
        assert second["accuracy"] - first["accuracy"] == pytest.approx(row["change"])
    assert 'id="slice-groups-compare"' in html
    for row in table["rows"]:
        assert f'id="slice-group-{report.pk}-{row["key"]}"' in html
    assert np.isfinite([c["accuracy"] for row in table["rows"] for c in row["cells"]]).all()
