"""`manage.py find_slices` (JSON line, clear refusals), the API (start, list, detail, compare, sample filter,
permissions) and the pages (report, slice, list, start) of failure-slice reports."""

import json
from dataclasses import asdict

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils.html import escape

from explain.slices.ml.discovery import SliceSettings
from explain.slices.models import SliceReport, SliceScore
from explain.slices.services import slice_report_create
from explain.slices.services.params import DEFAULTS
from explain.slices.services.scores import slice_score_create
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from tests.robustness.evaluation.conftest import add_member

pytestmark = pytest.mark.django_db

QUICK = {"device": "cpu", "min_size": 2}


@pytest.fixture
def finished(eval_version, stored_model, admin_user):
    """A finished report on a version with 6 + 6 test samples."""
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    report = slice_report_create(trained_model=stored_model(["cat", "dog"]), version=version, params=QUICK,
                                 requested_by=admin_user, enqueue=False)  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()
    assert report.status == JobStatus.SUCCEEDED, report.job.error
    return report


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_command_runs_inline_and_ends_with_the_json_line(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"cat": 4, "dog": 4}, split="test")
    trained = stored_model(["cat", "dog"])

    call_command("find_slices", str(trained.pk), str(version.pk), "--device", "cpu", "--min-size", "2",
                 "--user", admin_user.username)  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = SliceReport.objects.get()
    assert summary["slice_report"] == report.pk and summary["job"] == report.job_id
    assert summary["samples"] == 8 and report.split == "test" and report.params["min_size"] == 2
    assert summary["slices"] == len(report.results["slices"]) >= 2
    assert set(summary["worst_per_class"]) == {"cat", "dog"}
    for name, worst in summary["worst_per_class"].items():
        entry = report.results["slices"][worst["slice"] - 1]
        assert entry["class"] == name and worst["accuracy"] == entry["accuracy"]
    members = sorted(i for s in report.results["slices"] for i in s["sample_ids"])
    assert len(members) == len(set(members)) <= 8  # each sample is in at most one slice


def test_a_report_started_without_settings_runs_and_records_the_defaults(
    eval_version, stored_model, admin_user, capsys
):
    # given no slice setting on the command line (defaults chosen on tuning probes, docs/METHODS.md §13)
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    trained = stored_model(["cat", "dog"])

    call_command("find_slices", str(trained.pk), str(version.pk), "--device", "cpu", "--user", admin_user.username)

    # then the report's params and its results' settings both say min_size 3, the foreign context from 20 training
    # neighbours at weight 4, no true-class or prediction column
    capsys.readouterr()
    report = SliceReport.objects.get()
    recorded = report.results["settings"]
    expected = {"min_size": 3, "context_k": 20, "context_weight": 4.0, "true_class_weight": 0.0,
                "prediction_weight": 0.0}  # fmt: skip
    for name, value in expected.items():
        assert report.params[name] == recorded[name] == value, name
    # and the discovery's own defaults are the same as the params' (a library caller gets what the command runs)
    defaults = asdict(SliceSettings())
    assert {name: DEFAULTS[name] for name in defaults if name in DEFAULTS} == {
        name: value for name, value in defaults.items() if name in DEFAULTS
    }


def test_the_foreign_context_is_read_from_the_training_split_and_can_be_turned_off(
    eval_version, stored_model, admin_user
):
    # given a version with 6 + 6 test samples and 5 + 5 training samples
    version = eval_version({"cat": 6, "dog": 6}, split="test")
    for index, label in enumerate(["cat"] * 5 + ["dog"] * 5):
        add_member(version, label=label, split="train", index=100 + index)
    trained = stored_model(["cat", "dog"])

    # when a report runs with the default context (20 training neighbours) and one with context_k 0
    reports = []
    for extra in ({}, {"context_k": 0}):
        report = slice_report_create(trained_model=trained, version=version, params={**QUICK, **extra},
                                     requested_by=admin_user, enqueue=False)  # fmt: skip
        job_execute(report.job_id)
        report.refresh_from_db()
        assert report.status == JobStatus.SUCCEEDED, report.job.error
        reports.append(report)

    # then the first read it from all 10 training samples: each test sample's neighbours are the whole split, half
    # of them the other class, so every slice's mean foreign context is 0.5
    on, off = reports
    assert on.results["context"] == {"k": 20, "training_samples": 10, "mean": 0.5}
    assert on.results["slices"] and all(s["mean_context"] == 0.5 for s in on.results["slices"])
    assert on.results["settings"]["context_k"] == 20 and on.results["settings"]["context_weight"] == 4.0
    # and the second has none and says why
    assert off.results["context"] == {"k": 0, "skipped": "context_k is 0"}
    assert all(s["mean_context"] is None for s in off.results["slices"])


def test_command_compare_with_scores_the_same_slices(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"cat": 4, "dog": 4}, split="test")
    before, after = stored_model(["cat", "dog"], fitted=False), stored_model(["dog", "cat"])

    call_command("find_slices", str(before.pk), str(version.pk), "--device", "cpu", "--min-size", "2",
                 "--compare-with", str(after.pk), "--user", admin_user.username)  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    score = SliceScore.objects.get()
    assert summary["compare"]["slice_score"] == score.pk and summary["compare"]["model"] == after.pk
    for entry in score.report.results["slices"]:
        scored = score.results["slices"][str(entry["number"])]
        assert scored["size"] == entry["size"] and scored["missing"] == 0
        assert 0 <= scored["ci_low"] <= scored["accuracy"] <= scored["ci_high"] <= 1


def test_command_refuses_a_version_without_held_out_samples(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"cat": 2, "dog": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(SystemExit) as exited:
        call_command("find_slices", str(trained.pk), str(version.pk), "--user", admin_user.username)

    error = capsys.readouterr().err.strip()
    assert exited.value.code == 1 and "has no held-out samples (no test or val split)" in error
    assert "--split all" in error and Job.objects.filter(kind="find_slices").count() == 0


def test_command_refuses_a_model_whose_classes_do_not_match(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"bird": 2}, split="test")
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(SystemExit) as exited:
        call_command("find_slices", str(trained.pk), str(version.pk), "--user", admin_user.username)

    error = capsys.readouterr().err.strip()
    assert exited.value.code == 1 and "it cannot predict bird (model classes: cat, dog)" in error
    assert SliceReport.objects.count() == 0 and Job.objects.filter(kind="find_slices").count() == 0


def test_a_version_with_no_embeddings_is_refused_with_how_to_embed_it(eval_version, stored_model, admin_user, capsys):
    # given a version with held-out samples and no embedding set
    version = eval_version({"cat": 2, "dog": 2}, split="test")
    trained = stored_model(["cat", "dog"], fitted=False)
    # when a report that clusters the version's embeddings is asked from the page, the API and the command
    page = signed_in(admin_user).post(
        "/slices/start/", {"trained_model": trained.pk, "version": version.pk, "features": "embeddings"}
    )
    payload = {"trained_model": trained.pk, "version": version.pk, "params": {"features": "embeddings"}}
    answer = signed_in(admin_user).post("/api/slice-reports/start/", payload, content_type="application/json")
    with pytest.raises(SystemExit) as exited:
        call_command("find_slices", str(trained.pk), str(version.pk), "--features", "embeddings",
                     "--user", admin_user.username)  # fmt: skip
    # then the page links to the version's embed form; the API and the command say how to embed it
    lead = (
        f"Version {version.pk} (v{version.number} of {version.dataset.name!r}) has no ready embedding set: "
        "embed it first"
    )
    embed_form = f"/datasets/{version.dataset_id}/v/{version.number}/embeddings/#start-title"
    link = f'<a href="{embed_form}" id="embed-version-link">Embed v{version.number}</a>'
    assert page.status_code == 400
    assert f"<p>{escape(lead)}, name one, or use features=model. {link}</p>" in page.content.decode()
    how = f"manage.py embed {version.pk}, or POST /api/versions/{version.pk}/embeddings/"
    message = f"{lead} ({how}), name one, or use features=model."
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_embeddings")
    assert answer.json()["error"]["message"] == message
    assert exited.value.code == 1 and capsys.readouterr().err.strip().endswith(message)
    assert SliceReport.objects.count() == 0


def test_job_kind_names_agree():
    from explain.slices import job_kinds, services
    from explain.slices.services import scores

    assert job_kinds.FIND_SLICES_JOB_KIND == services.FIND_SLICES_JOB_KIND
    assert job_kinds.SCORE_SLICES_JOB_KIND == scores.SCORE_SLICES_JOB_KIND


def test_api_lists_and_details_a_report_with_its_compare_section(finished, viewer, stored_model, admin_user):
    other = stored_model(["cat", "dog"], fitted=False)
    score = slice_score_create(report=finished, trained_model=other, requested_by=admin_user, enqueue=False)
    job_execute(score.job_id)
    client = signed_in(viewer)

    listed = client.get("/api/slice-reports/").json()
    detail = client.get(f"/api/slice-reports/{finished.pk}/").json()

    assert [r["id"] for r in listed["results"]] == [finished.pk]
    assert detail["slices"] == finished.results["slices"] and detail["status"] == "succeeded"
    assert detail["summary"]["worst_per_class"].keys() == finished.results["worst_per_class"].keys()
    (compare,) = detail["compare"]
    assert compare["trained_model"] == other.pk and compare["status"] == "succeeded"
    assert [row["number"] for row in compare["slices"]] == [s["number"] for s in finished.results["slices"]]
    assert all(row["before"]["accuracy"] == s["accuracy"] for row, s in zip(compare["slices"], detail["slices"],
                                                                          strict=True))  # fmt: skip


def test_api_start_is_for_admins_and_refusals_are_structured(eval_version, stored_model, admin_user, curator):
    version = eval_version({"cat": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)
    payload = {"trained_model": trained.pk, "version": version.pk}

    as_curator = signed_in(curator).post("/api/slice-reports/start/", payload, content_type="application/json")
    as_admin = signed_in(admin_user).post("/api/slice-reports/start/", payload, content_type="application/json")

    assert as_curator.status_code == 403
    assert as_admin.status_code == 400 and as_admin.json()["error"]["code"] == "no_held_out"
    assert SliceReport.objects.count() == 0


def test_api_sample_filter_lists_a_slices_samples(finished, viewer):
    entry = finished.results["slices"][0]

    response = signed_in(viewer).get(
        f"/api/versions/{finished.version_id}/samples/?slice_report={finished.pk}&slice={entry['number']}&page_size=100"
    )
    unknown = signed_in(viewer).get(f"/api/versions/{finished.version_id}/samples/?slice_report={finished.pk}&slice=99")

    assert response.status_code == 200
    assert sorted(s["id"] for s in response.json()["results"]) == sorted(entry["sample_ids"])
    assert unknown.status_code == 400


def test_report_and_slice_pages_show_the_chart_slices_and_galleries(finished, viewer):
    client = signed_in(viewer)
    entry = finished.results["slices"][0]

    report_page = client.get(f"/slices/{finished.pk}/").content.decode()
    slice_page = client.get(f"/slices/{finished.pk}/{entry['number']}/")
    listing = client.get("/slices/")

    assert 'id="slice-accuracy-figure"' in report_page and 'id="compare"' in report_page
    assert '<th scope="row">' in report_page.split('id="slices-params"')[1]  # the shared parameters table, with rows
    for s in finished.results["slices"]:
        assert f'id="slice-{s["number"]}"' in report_page
        for item in s["gallery"]:
            assert f"/media/samples/{item['sample_id']}/thumbnail" in report_page
    assert slice_page.status_code == 200
    assert all(f"/media/samples/{i}/thumbnail" in slice_page.content.decode() for i in entry["sample_ids"])
    assert listing.status_code == 200 and f"/slices/{finished.pk}/" in listing.content.decode()
    assert client.get(f"/slices/{finished.pk}/99/").status_code == 404


def test_pages_need_a_login_and_the_start_form_needs_an_admin(finished, curator):
    assert Client().get(f"/slices/{finished.pk}/").status_code in (302, 403)
    assert signed_in(curator).get("/slices/start/").status_code == 403
    assert signed_in(curator).post(f"/slices/{finished.pk}/compare/", {"trained_model": 1}).status_code == 403


def test_a_slice_becomes_a_relabel_review_queue_of_its_samples(finished, curator, viewer):
    from curation.review.models import ReviewQueue

    entry = finished.results["slices"][0]

    refused = signed_in(viewer).post(f"/slices/{finished.pk}/{entry['number']}/review/")
    response = signed_in(curator).post(f"/slices/{finished.pk}/{entry['number']}/review/")

    queue = ReviewQueue.objects.get()
    assert refused.status_code == 403
    assert response.status_code == 302 and response["Location"] == f"/review/queues/{queue.pk}/"
    assert queue.version_id == finished.version_id and queue.filter["slice"] == entry["number"]
    assert sorted(queue.items.values_list("sample_id", flat=True)) == sorted(entry["sample_ids"])


def test_a_review_queue_filter_naming_an_unknown_slice_is_refused(finished):
    from core.api_errors import ApplicationError
    from curation.review.models import ReviewQueue
    from curation.review.services.queues import review_queue_create

    with pytest.raises(ApplicationError, match="has no slice 99"):
        review_queue_create(version=finished.version, name="x", filter={"slice_report": finished.pk, "slice": 99})
    with pytest.raises(ApplicationError, match="slice_report and slice go together"):
        review_queue_create(version=finished.version, name="x", filter={"slice_report": finished.pk})
    assert ReviewQueue.objects.count() == 0
