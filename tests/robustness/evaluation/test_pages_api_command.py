"""The report, compare and start pages, the API (start, list, detail) and `manage.py evaluate`."""

import json
import re

import pytest
from django.core.management import call_command
from django.test import Client

from curation.models import VersionSample
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.services import evaluation_run_create

pytestmark = pytest.mark.django_db

QUICK = {"corruptions": ["contrast"], "severities": [1, 3], "eps": [0.0, 8 / 255], "device": "cpu"}


@pytest.fixture
def finished(eval_version, stored_model, admin_user):
    """A finished run with every suite, on a version with 4 + 4 masked samples, and the version and model."""
    version = eval_version({"cat": 4, "dog": 4})
    trained = stored_model(["cat", "dog"])

    def make(baseline: EvaluationRun | None = None) -> EvaluationRun:
        run = evaluation_run_create(
            trained_model=trained, version=version, suites=["clean", "corruptions", "adversarial", "attributes"],
            params=QUICK, baseline=baseline, requested_by=admin_user, enqueue=False,
        )  # fmt: skip
        job_execute(run.job_id)
        run.refresh_from_db()
        assert run.status == JobStatus.SUCCEEDED, run.job.error
        return run

    return make


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_report_page_shows_every_suite_with_its_charts_and_says_errors_are_unnormalised(finished, viewer):
    run = finished()

    response = signed_in(viewer).get(f"/evaluations/{run.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    for element in ("severity-figure", "adversarial-figure", "attribute-figure", "confusion-figure",
                    "reliability-figure", "corruption-table", "attribute-table", "adversarial-table"):  # fmt: skip
        assert f'id="{element}"' in page or f'data-figure="{element}"' in page, element
    assert "No baseline run was picked" in page
    assert f"/evaluations/{run.pk}/examples/corruptions/contrast/3.png" in page
    assert '<th scope="row">' in page.split('id="evaluation-params"')[1]  # the shared parameters table, with rows


def test_adversarial_examples_are_captioned_with_label_predictions_and_eps(finished, viewer):
    run = finished()
    example = run.results["adversarial"]["example"]
    first = VersionSample.objects.get(version=run.version, sample_id=run.results["adversarial"]["example_sample_id"])

    page = signed_in(viewer).get(f"/evaluations/{run.pk}/").content.decode()

    # the stored example names the sample's own label and a class of the model for each prediction
    assert example["label"] == first.label
    assert {example["clean_prediction"], *example["adversarial_predictions"].values()} <= {"cat", "dog"}
    assert list(example["adversarial_predictions"]) == ["pgd", "fgsm"]
    captions = re.findall(r"<figcaption>([^<]*)</figcaption>", page)
    assert [c for c in captions if c.startswith(("Original", "FGSM", "PGD"))] == [
        f"Original: {example['label']}, predicted {example['clean_prediction']}",
        f"PGD at ε = 8/255: predicted {example['adversarial_predictions']['pgd']}",
        "PGD perturbation (ε = 8/255, magnified)",
        f"FGSM at ε = 8/255: predicted {example['adversarial_predictions']['fgsm']}",
        "FGSM perturbation (ε = 8/255, magnified)",
    ]


def test_report_page_names_the_baseline_that_normalises_mce(finished, viewer):
    baseline = finished()
    run = finished(baseline=baseline)

    page = signed_in(viewer).get(f"/evaluations/{run.pk}/").content.decode()

    assert f"Normalised by run #{baseline.pk} {baseline.trained_model.name}" in page
    assert "mCE / relative mCE" in page


def test_example_images_are_served_and_unknown_names_are_404(finished, viewer):
    run = finished()
    client = signed_in(viewer)

    image = client.get(f"/evaluations/{run.pk}/examples/adversarial/pgd/perturbation.png")
    missing = client.get(f"/evaluations/{run.pk}/examples/clean/none.png")

    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content)[:4] == b"\x89PNG"
    assert missing.status_code == 404


def test_the_status_partial_polls_while_running_and_asks_for_a_reload_when_done(eval_version, stored_model,
                                                                                admin_user, viewer):  # fmt: skip
    run = evaluation_run_create(trained_model=stored_model(["cat", "dog"], fitted=False),
                                version=eval_version({"cat": 2}), suites=["clean"], requested_by=admin_user,
                                enqueue=False)  # fmt: skip
    client = signed_in(viewer)

    running = client.get(f"/evaluations/{run.pk}/", HTTP_HX_REQUEST="true")
    job_execute(run.job_id)
    done = client.get(f"/evaluations/{run.pk}/", HTTP_HX_REQUEST="true")

    assert 'hx-trigger="every 2s"' in running.content.decode()
    assert done.status_code == 204 and done["HX-Refresh"] == "true"


def test_compare_page_puts_runs_side_by_side(finished, viewer):
    first, second = finished(), finished()

    response = signed_in(viewer).get(f"/evaluations/compare/?runs={first.pk}&runs={second.pk}")

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('href="/evaluations/') >= 2
    assert 'data-figure="compare-figure"' in page
    assert 'data-figure="frontier-figure"' in page  # two runs on one version, models trained on one dataset


def test_compare_by_version_takes_every_models_newest_run(finished, viewer):
    run = finished()

    page = signed_in(viewer).get(f"/evaluations/compare/?version={run.version_id}").content.decode()

    assert f"#{run.pk} {run.trained_model.name}" in page
    assert "Pick at least two runs" in page


def test_start_form_refuses_mismatched_classes_and_creates_nothing(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 1, "bird": 1})
    trained = stored_model(["cat", "dog"], fitted=False)

    response = signed_in(admin_user).post(
        "/evaluations/start/",
        {"trained_model": trained.pk, "version": version.pk, "suites": ["clean"], "split": "auto"},
    )

    assert response.status_code == 400
    assert "cannot predict bird" in response.content.decode()
    assert EvaluationRun.objects.count() == 0


def test_start_form_creates_the_run_and_opens_its_report(
    eval_version, stored_model, admin_user, django_capture_on_commit_callbacks
):
    version = eval_version({"cat": 1, "dog": 1})
    trained = stored_model(["cat", "dog"], fitted=False)

    with django_capture_on_commit_callbacks(execute=False):
        form = {"trained_model": trained.pk, "version": version.pk, "suites": ["clean", "corruptions"], "split": "auto"}
        response = signed_in(admin_user).post("/evaluations/start/", form)

    run = EvaluationRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/evaluations/{run.pk}/"
    assert run.suites == ["clean", "corruptions"] and run.job.kind == "evaluate" and run.job.queue in ("gpu", "default")


def test_api_start_answers_202_and_mismatched_classes_400(eval_version, stored_model, admin_user,
                                                          django_capture_on_commit_callbacks):  # fmt: skip
    version = eval_version({"cat": 1, "dog": 1})
    client = signed_in(admin_user)
    good, bad = stored_model(["cat", "dog"], fitted=False), stored_model(["cat", "bird"], fitted=False)

    with django_capture_on_commit_callbacks(execute=False):
        payload = {"trained_model": good.pk, "version": version.pk, "suites": ["clean"]}
        accepted = client.post("/api/evaluations/start/", payload, content_type="application/json")
    refused = client.post("/api/evaluations/start/", {"trained_model": bad.pk, "version": version.pk},
                          content_type="application/json")  # fmt: skip

    assert accepted.status_code == 202
    body = accepted.json()
    assert body["evaluation_run"] == EvaluationRun.objects.get().pk and body["url"] == f"/api/jobs/{body['job']}/"
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "classes_mismatch"
    assert refused.json()["error"]["details"]["unknown_labels"] == ["dog"]
    assert EvaluationRun.objects.count() == 1


def test_api_detail_and_list(finished, viewer):
    run = finished()
    client = signed_in(viewer)

    detail = client.get(f"/api/evaluations/{run.pk}/").json()
    listed = client.get(f"/api/evaluations/?version={run.version_id}").json()

    assert detail["summary"]["top1"] == run.results["clean"]["top1"]
    assert detail["corruption_table"]["baseline"] is None
    assert set(detail["results"]) == {"clean", "corruptions", "adversarial", "attributes"}
    assert [r["id"] for r in listed["results"]] == [run.pk]
    assert client.get("/api/evaluations/999999/").json()["error"]["code"] == "not_found"


def test_command_runs_inline_and_prints_the_summary_as_its_last_line(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_model(["cat", "dog"], fitted=False)

    call_command("evaluate", str(trained.pk), str(version.pk), "--suite", "clean,corruptions", "--corruptions", "fog",
                 "--severities", "2", "--device", "cpu", "--user", admin_user.username)  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = EvaluationRun.objects.get()
    assert summary["evaluation_run"] == run.pk and summary["job"] == run.job_id
    assert summary["samples"] == 4 and summary["mce"] is None and summary["corruption_mean_error"] is not None


def test_command_with_mismatched_classes_exits_1_with_one_line(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"bird": 2})
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(SystemExit) as exited:
        call_command("evaluate", str(trained.pk), str(version.pk), "--user", admin_user.username)

    error = capsys.readouterr().err.strip()
    assert exited.value.code == 1
    assert error.startswith("error: The model's classes do not match") and "\n" not in error
    assert Job.objects.filter(kind="evaluate").count() == 0


def test_command_enqueue_returns_the_queued_job(eval_version, stored_model, admin_user, capsys,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    version = eval_version({"cat": 1, "dog": 1})
    trained = stored_model(["cat", "dog"], fitted=False)

    with django_capture_on_commit_callbacks(execute=False):
        call_command("evaluate", str(trained.pk), str(version.pk), "--enqueue", "--eps", "0,4/255",
                     "--suite", "adversarial", "--user", admin_user.username)  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = EvaluationRun.objects.get()
    assert summary == {"job": run.job_id, "evaluation_run": run.pk, "status": "queued", "queue": run.job.queue}
    assert run.params["eps"] == [0.0, 4 / 255]
