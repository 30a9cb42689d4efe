"""The confidence-threshold report (robustness.reports: a run kind of four pieces on the generic report row):
its curve against a brute-force count, the default prepare's checks and refusals, and the report end to end
through the generated API, job, report page and `manage.py report` command (and on a real worker)."""

import json
import re
from dataclasses import dataclass

import numpy as np
import pytest
from django.core.management import call_command
from django.test import Client

from core.api_errors import ApplicationError
from core.params import param
from curation.deletion.services import dataset_delete_start, version_delete_start
from jobs.models import Job, JobStatus
from jobs.runs.kinds import RunKind
from jobs.runs.services import run_create
from jobs.services import job_create, job_execute
from robustness.params import ModelOnVersionParams
from robustness.reports.job_kinds import CONFIDENCE, report_kinds
from robustness.reports.models import ModelReport
from robustness.reports.services import model_report_prepare
from robustness.reports.services.confidence import confidence_curve
from tests.worker import wait_for_job

pytestmark = pytest.mark.django_db

CPU = {"device": "cpu"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- the curve -------------------------------------------------------------------------------------------


def _brute_force(confidence: np.ndarray, correct: np.ndarray, target: float) -> dict | None:
    """The lowest threshold t (a confidence seen) whose kept predictions (confidence ≥ t) reach `target`."""
    best = None
    for t in sorted(set(confidence.tolist()), reverse=True):
        kept = confidence >= t
        if correct[kept].mean() >= target:
            best = {"threshold": t, "kept": int(kept.sum()), "accuracy": float(correct[kept].mean())}
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("target", [0.6, 0.9, 1.0])
def test_the_operating_point_is_the_lowest_threshold_that_reaches_the_target(seed, target):
    rng = np.random.default_rng(seed)
    confidence = rng.choice([0.3, 0.5, 0.55, 0.7, 0.8, 0.9, 0.99], size=200)  # many ties
    correct = rng.random(200) < confidence  # the more confident, the more often right

    curve, point = confidence_curve(confidence, correct, target_accuracy=target)

    expected = _brute_force(confidence, correct, target)
    if expected is None:
        assert point is None
    else:
        assert point is not None
        assert (point["threshold"], point["kept"]) == (expected["threshold"], expected["kept"])
        assert point["accuracy"] == pytest.approx(expected["accuracy"]) and point["coverage"] == expected["kept"] / 200
    assert [p["threshold"] for p in curve] == sorted(set(confidence.tolist()), reverse=True)  # one point per tie run
    assert curve[-1]["coverage"] == 1.0 and curve[-1]["accuracy"] == pytest.approx(correct.mean())


def test_a_target_nothing_reaches_gives_no_operating_point():
    curve, point = confidence_curve(np.array([0.9, 0.8]), np.array([False, True]), target_accuracy=0.99)

    assert point is None and [p["kept"] for p in curve] == [1, 2]


# --- the default prepare ---------------------------------------------------------------------------------


@pytest.fixture
def subjects(eval_version, stored_model):
    version = eval_version({"cat": 3, "dog": 3}, split="test")
    return {"version": version, "trained_model": stored_model(["cat", "dog"], fitted=False)}


def test_the_default_prepare_fills_in_every_default_and_resolves_the_split(subjects):
    fields = model_report_prepare(CONFIDENCE, params={"target_accuracy": 0.8}, **subjects)

    assert fields["trained_model"] == subjects["trained_model"] and fields["version"] == subjects["version"]
    assert fields["params"] == {"split": "test", "target_accuracy": 0.8, "max_samples": None, "batch_size": 64,
                                "device": "auto", "seed": 0}  # fmt: skip


def test_the_default_prepare_takes_the_runs_own_fields_by_id(subjects):
    ids = {name: row.pk for name, row in subjects.items()}

    fields = model_report_prepare(CONFIDENCE, **ids)

    assert fields["trained_model"] == subjects["trained_model"] and fields["version"] == subjects["version"]


@pytest.mark.parametrize(
    "params, field, code",
    [
        ({"thresholds": 3}, "thresholds", "invalid_parameter"),  # unknown
        ({"target_accuracy": 1.5}, "target_accuracy", "invalid_parameter"),  # out of range
        ({"target_accuracy": 0}, "target_accuracy", "invalid_parameter"),  # the exclusive bound
        ({"batch_size": "many"}, "batch_size", "invalid_parameter"),  # wrong type
        ({"split": "holdout"}, "split", "invalid_parameter"),  # not a choice
        ({"version": 1}, "version", "invalid_parameter"),  # a run's own field inside params
    ],
)
def test_the_default_prepare_refuses_a_bad_parameter_naming_it(subjects, params, field, code):
    with pytest.raises(ApplicationError) as refused:
        model_report_prepare(CONFIDENCE, params=params, **subjects)

    assert (refused.value.code, refused.value.details["field"]) == (code, field)


def test_the_default_prepare_refuses_with_a_parameters_own_code(subjects):
    @dataclass(frozen=True)
    class OwnCodeParams(ModelOnVersionParams):
        bins: int = param(10, min=2, code="invalid_bins", help="Bins.")

    kind = RunKind(name="own_code_probe", params=OwnCodeParams, execute="x:y", noun="probe", description="Probe.",
                   label="Probe", slug="probe", report_template="frontend/reports/confidence_report.html")  # fmt: skip

    with pytest.raises(ApplicationError) as refused:
        model_report_prepare(kind, params={"bins": 1}, **subjects)

    assert (refused.value.code, refused.value.details["field"]) == ("invalid_bins", "bins")
    assert kind.model is ModelReport and kind.report_url_name == "frontend:probe_report"


def test_the_default_prepare_refuses_an_unknown_row_and_a_model_that_cannot_read_the_version(
    subjects, eval_version, stored_model
):
    with pytest.raises(ApplicationError) as missing:
        model_report_prepare(CONFIDENCE, trained_model=10**9, version=subjects["version"])
    birds = eval_version({"bird": 2}, split="test")
    with pytest.raises(ApplicationError) as mismatch:
        model_report_prepare(CONFIDENCE, trained_model=subjects["trained_model"], version=birds)
    train_only = eval_version({"cat": 2}, split="train")
    with pytest.raises(ApplicationError) as empty:
        model_report_prepare(CONFIDENCE, params={"split": "val"}, trained_model=subjects["trained_model"],
                             version=train_only)  # fmt: skip

    assert (missing.value.code, missing.value.details["field"]) == ("not_found", "trained_model")
    assert mismatch.value.code == "classes_mismatch" and mismatch.value.details["unknown_labels"] == ["bird"]
    assert empty.value.code == "empty_split"


def test_a_refused_request_creates_no_report_and_no_job(subjects, admin_user):
    with pytest.raises(ApplicationError):
        run_create(kind=CONFIDENCE, requested_by=admin_user, params={"target_accuracy": 2}, **subjects)

    assert not ModelReport.objects.exists() and not Job.objects.filter(kind="confidence_report").exists()


# --- end to end --------------------------------------------------------------------------------------------


def test_the_report_end_to_end_api_job_page_detail_and_command(eval_version, stored_model, admin_user, viewer,
                                                               capsys, django_capture_on_commit_callbacks):  # fmt: skip
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    trained = stored_model(["cat", "dog"])
    admin = signed_in(admin_user)

    with django_capture_on_commit_callbacks(execute=False):  # the test runs the job itself
        started = admin.post("/api/reports/confidence/start/", {"trained_model": trained.pk, "version": version.pk,
                             "params": {"target_accuracy": 0.75, **CPU}}, content_type="application/json")  # fmt: skip
    assert started.status_code == 202, started.content
    body = started.json()
    report = ModelReport.objects.get(pk=body["report"])
    assert (report.kind, report.job_id, body["job"]) == ("confidence_report", body["job"], report.job.pk)
    assert body["report_url"] == f"/reports/confidence/{report.pk}/"
    assert Job.objects.get(pk=body["job"]).params == {"report_id": report.pk}

    job = job_execute(report.job_id)

    assert job.status == JobStatus.SUCCEEDED, job.error
    report.refresh_from_db()
    summary = report.summary
    assert summary["count"] == 12 and [row["class"] for row in summary["per_class"]] == ["cat", "dog"]
    assert sum(row["count"] for row in summary["per_class"]) == 12
    point = summary["operating_point"]
    assert point is not None and point["accuracy"] >= 0.75 and job.result["threshold"] == point["threshold"]
    assert summary["curve"][-1]["accuracy"] == pytest.approx(summary["accuracy"])
    assert summary["figures"]["confidence-coverage-figure"]["data"][0]["x"][-1] == 1.0

    page = signed_in(viewer).get(body["report_url"])
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="confidence-threshold">{point["threshold"]:.3f}<' in html and 'id="confidence-classes"' in html
    assert 'id="confidence-coverage-figure"' in html and 'data-figure="confidence-coverage-figure"' in html

    job_page = signed_in(viewer).get(f"/jobs/{job.pk}/").content.decode()
    assert f'href="{body["report_url"]}"' in job_page  # the job's outcome links its report
    listing = signed_in(viewer).get("/reports/confidence/").content.decode()
    assert f'href="{body["report_url"]}"' in listing
    current = re.search(r'<a href="/reports/confidence/"\s+aria-current="page">([^<]+)</a>', listing)
    assert current is not None and current[1] == "Confidence thresholds"  # the navigation's generated entry

    detail = signed_in(viewer).get(f"/api/reports/confidence/{report.pk}/").json()
    assert detail["summary"]["operating_point"] == point and detail["kind"] == "confidence_report"
    listed = signed_in(viewer).get("/api/reports/confidence/", {"version": version.pk}).json()["results"]
    assert [row["id"] for row in listed] == [report.pk]

    call_command("report", "confidence_report", str(trained.pk), str(version.pk), "--device", "cpu",
                 "--target-accuracy", "0.75", "--user", admin_user.username)  # fmt: skip
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    again = ModelReport.objects.exclude(pk=report.pk).get()
    assert (line["report"], line["job"], line["kind"]) == (again.pk, again.job_id, "confidence_report")
    assert line["threshold"] == point["threshold"] and again.summary["per_class"] == summary["per_class"]


def test_the_start_page_creates_a_report_and_opens_it(subjects, admin_user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        response = signed_in(admin_user).post("/reports/confidence/start/", {
            "trained_model": subjects["trained_model"].pk, "version": subjects["version"].pk, "target_accuracy": "0.9",
        })  # fmt: skip

    report = ModelReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/confidence/{report.pk}/"
    assert report.params["target_accuracy"] == 0.9 and report.params["split"] == "test"


def test_the_start_page_shows_a_refusal_above_the_form(subjects, eval_version, admin_user):
    birds = eval_version({"bird": 2}, split="test")

    response = signed_in(admin_user).post("/reports/confidence/start/", {
        "trained_model": subjects["trained_model"].pk, "version": birds.pk})  # fmt: skip

    assert response.status_code == 400 and "cannot predict bird" in response.content.decode()
    assert not ModelReport.objects.exists()


def test_lists_and_details_show_only_rows_of_their_kind(subjects, viewer, admin_user):
    mine = run_create(kind=CONFIDENCE, requested_by=admin_user, enqueue=False, **subjects)
    other = ModelReport.objects.create(kind="some_other_report", params={}, **subjects)
    client = signed_in(viewer)

    listed = client.get("/api/reports/confidence/").json()["results"]
    page = client.get("/reports/confidence/").content.decode()

    assert [row["id"] for row in listed] == [mine.pk]
    assert f"#{mine.pk}<" in page and f"#{other.pk}<" not in page
    assert client.get(f"/api/reports/confidence/{other.pk}/").status_code == 404
    assert client.get(f"/reports/confidence/{other.pk}/").status_code == 404


def test_a_failed_report_keeps_its_row_and_loses_its_summary(subjects, admin_user):
    report = run_create(kind=CONFIDENCE, requested_by=admin_user, enqueue=False, params={"device": "tpu"}, **subjects)

    job = job_execute(report.job_id)

    report.refresh_from_db()
    assert job.status == JobStatus.FAILED and "tpu" in job.error
    assert (report.summary, report.finished_at, report.kind) == ({}, None, "confidence_report")


def test_the_confidence_report_is_a_generic_report_kind():
    assert CONFIDENCE in report_kinds() and CONFIDENCE.model is ModelReport and CONFIDENCE.prepare == ""


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_the_report(celery_worker, eval_version, stored_model, admin_user):
    version = eval_version({"cat": 3, "dog": 3}, split="test")
    trained = stored_model(["cat", "dog"])
    celery_worker(OMP_NUM_THREADS="1")

    report = run_create(kind=CONFIDENCE, requested_by=admin_user, params=CPU, trained_model=trained, version=version)
    job = wait_for_job(report.job_id, lambda j: j.is_finished, timeout=120)

    report = ModelReport.objects.get(pk=report.pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["report"] == report.pk and report.summary["count"] == 6 and report.finished_at is not None
    assert job.progress == 1.0


def test_a_datasets_deletion_takes_its_reports_and_a_report_blocks_deleting_its_version_alone(subjects, admin_user):
    report = run_create(kind=CONFIDENCE, requested_by=admin_user, enqueue=False, **subjects)
    job_execute(report.job_id)
    version = subjects["version"]

    with pytest.raises(ApplicationError) as blocked:
        version_delete_start(version=version, requested_by=admin_user, create_job=job_create)
    deletion = dataset_delete_start(dataset=version.dataset, requested_by=admin_user, create_job=job_create)
    job = job_execute(deletion.job_id)

    assert blocked.value.code == "deletion_blocked" and "reports.ModelReport" in str(blocked.value.details)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["rows"]["reports.ModelReport"] == 1 and not ModelReport.objects.exists()
