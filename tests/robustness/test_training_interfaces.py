"""Starting and reading training runs through the API, the pages, the Django admin and `manage.py train`."""

import io
import json

import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from jobs.models import Job, JobStatus
from jobs.services import job_execute
from robustness.models import TrainedModel, TrainingRun
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TINY_FORM = {"arch": "small-cnn", "epochs": 1, "batch_size": 8, "lr": 0.001, "img_size": 16, "seed": 5}


def api_as(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- API ---------------------------------------------------------------------------------------------------


def test_api_start_creates_a_run_and_answers_201_with_it(labelled_version, admin_user):
    version = labelled_version(train={"cat": 4, "dog": 4})

    response = api_as(admin_user).post(
        "/api/training-runs/start/", {**TINY_FORM, "version": version.pk, "device": "cpu"}, format="json"
    )

    run = TrainingRun.objects.get()
    assert response.status_code == 201
    body = response.json()
    assert (body["id"], body["job"], body["status"], body["version"]) == (run.pk, run.job_id, "queued", version.pk)
    assert (body["arch"], body["seed"], body["device"], body["classes"]) == ("small-cnn", 5, "cpu", ["cat", "dog"])
    assert body["hyperparameters"]["img_size"] == 16
    assert (body["epoch_metrics"], body["trained_model"]) == ([], None)


@pytest.mark.parametrize(("train", "code"), [({}, "empty_version"), ({"cat": 4}, "one_class")])
def test_api_start_on_an_empty_or_one_class_version_is_a_structured_400(labelled_version, admin_user, train, code):
    version = labelled_version(train=train)

    response = api_as(admin_user).post("/api/training-runs/start/", {**TINY_FORM, "version": version.pk}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not TrainingRun.objects.exists()


def test_api_start_is_refused_to_curators(labelled_version, curator):
    version = labelled_version(train={"cat": 4, "dog": 4})

    response = api_as(curator).post("/api/training-runs/start/", {**TINY_FORM, "version": version.pk}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_api_reads_a_finished_run_and_its_trained_model(labelled_version, admin_user, viewer):
    version = labelled_version(train={"cat": 6, "dog": 6}, val={"cat": 2, "dog": 2})
    run_id = (
        api_as(admin_user)
        .post("/api/training-runs/start/", {**TINY_FORM, "version": version.pk, "device": "cpu"}, format="json")
        .json()["id"]
    )
    run = TrainingRun.objects.get(pk=run_id)
    job_execute(run.job_id)
    trained = TrainedModel.objects.get(run=run)

    detail = api_as(viewer).get(f"/api/training-runs/{run_id}/").json()
    listed = api_as(viewer).get("/api/training-runs/").json()
    model_body = api_as(viewer).get(f"/api/trained-models/{trained.pk}/").json()

    assert (detail["status"], detail["trained_model"], detail["best_epoch"]) == ("succeeded", trained.pk, 1)
    assert [row["epoch"] for row in detail["epoch_metrics"]] == [1]
    assert [row["id"] for row in listed["results"]] == [run_id]
    assert model_body["classes"] == ["cat", "dog"]
    assert (model_body["run"], model_body["trained_on"], model_body["img_size"]) == (run_id, version.pk, 16)
    assert api_as(viewer).get("/api/training-runs/999999/").json()["error"]["code"] == "not_found"


# --- pages -------------------------------------------------------------------------------------------------


def test_the_training_page_shows_the_start_form_to_admins_only(admin_user, viewer):
    assert 'id="training-start-form"' in signed_in(admin_user).get("/training/").content.decode()
    assert 'id="training-start-form"' not in signed_in(viewer).get("/training/").content.decode()


def test_starting_from_the_page_goes_to_the_run_page(labelled_version, admin_user):
    version = labelled_version(train={"cat": 4, "dog": 4})

    response = signed_in(admin_user).post(
        "/training/start/", {**TINY_FORM, "version": version.pk, "device": "cpu", "augmentation": "none"}
    )

    run = TrainingRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/training/runs/{run.pk}/"
    assert (run.augmentation, run.seed, run.hyperparameters["epochs"]) == ("none", 5, 1)


def test_a_refused_start_comes_back_with_the_reason(labelled_version, admin_user):
    version = labelled_version(train={"cat": 4})

    response = signed_in(admin_user).post(
        "/training/start/", {**TINY_FORM, "version": version.pk, "device": "cpu", "augmentation": "none"}
    )

    assert response.status_code == 400
    assert "only one class in its train split" in response.content.decode()
    assert not TrainingRun.objects.exists()


def test_the_run_page_polls_while_running_and_stops_with_curves_and_checkpoints_when_done(labelled_version, admin_user):
    version = labelled_version(train={"cat": 6, "dog": 6}, val={"cat": 2, "dog": 2})
    signed_in(admin_user).post(
        "/training/start/", {**TINY_FORM, "version": version.pk, "device": "cpu", "augmentation": "none"}
    )
    run = TrainingRun.objects.get()
    client = signed_in(admin_user)

    queued = client.get(f"/training/runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()
    job_execute(run.job_id)
    page = client.get(f"/training/runs/{run.pk}/").content.decode()
    live = client.get(f"/training/runs/{run.pk}/", HTTP_HX_REQUEST="true").content.decode()

    assert 'hx-trigger="every 2s"' in queued
    assert "No epoch has finished yet." in queued
    assert "<html" not in live and "hx-trigger" not in live
    assert 'id="loss-figure"' in live and 'id="accuracy-figure"' in live
    figure = json.loads(live.split('id="accuracy-figure" type="application/json">')[1].split("</script>")[0])
    assert [trace["name"] for trace in figure["data"]] == ["train", "val"]
    assert figure["data"][1]["y"] == [run.__class__.objects.get(pk=run.pk).epoch_metrics[0]["val_accuracy"]]
    assert f"/training/runs/{run.pk}/checkpoints/best/" in live
    assert run.code_version in page and f"version id {version.pk}" in page
    download = client.get(f"/training/runs/{run.pk}/checkpoints/last/")
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="run-{run.pk}-last-epoch001.pt"'
    assert client.get(f"/training/runs/{run.pk}/checkpoints/other/").status_code == 404


# --- Django admin ------------------------------------------------------------------------------------------


@pytest.fixture
def staff_admin(db):
    return UserFactory(username="boss", is_staff=True, is_superuser=True)


def test_the_admin_add_form_starts_a_run(labelled_version, staff_admin):
    version = labelled_version(train={"cat": 4, "dog": 4})
    client = signed_in(staff_admin)

    form_page = client.get("/admin/robustness/trainingrun/add/")
    response = client.post(
        "/admin/robustness/trainingrun/add/",
        {**TINY_FORM, "version": version.pk, "device": "cpu", "augmentation": "none"},
    )

    run = TrainingRun.objects.get()
    assert form_page.status_code == 200 and "Start a training run" in form_page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/robustness/trainingrun/{run.pk}/change/"
    assert (run.requested_by, run.arch, run.device) == (staff_admin, "small-cnn", "cpu")


def test_the_admin_action_trains_again_with_the_same_settings(labelled_version, staff_admin):
    version = labelled_version(train={"cat": 4, "dog": 4})
    client = signed_in(staff_admin)
    client.post(
        "/admin/robustness/trainingrun/add/",
        {**TINY_FORM, "version": version.pk, "device": "cpu", "augmentation": "none"},
    )
    first = TrainingRun.objects.get()

    client.post("/admin/robustness/trainingrun/", {"action": "train_again", "_selected_action": [first.pk]})

    again = TrainingRun.objects.exclude(pk=first.pk).get()
    assert (again.version, again.arch, again.seed, again.device) == (
        first.version,
        first.arch,
        first.seed,
        first.device,
    )
    assert (again.hyperparameters, again.augmentation) == (first.hyperparameters, first.augmentation)
    assert again.job_id != first.job_id


# --- manage.py train ---------------------------------------------------------------------------------------


def run_train(*args: str) -> tuple[str, str, int]:
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("train", *args, stdout=stdout, stderr=stderr)
    except SystemExit as exit_:
        return stdout.getvalue(), stderr.getvalue(), int(exit_.code or 0)
    return stdout.getvalue(), stderr.getvalue(), 0


def test_train_command_runs_inline_and_prints_json_last(labelled_version, staff_admin):
    version = labelled_version(train={"cat": 6, "dog": 6}, val={"cat": 2, "dog": 2})

    stdout, _, code = run_train(
        str(version.pk), "--arch", "small-cnn", "--epochs", "2", "--batch-size", "8", "--img-size", "16",
        "--seed", "1", "--device", "cpu", "--lr", "0.002",
    )  # fmt: skip

    run = TrainingRun.objects.get()
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert code == 0
    assert summary == {
        "job": run.job_id, "run": run.pk, "trained_model": TrainedModel.objects.get().pk, "epochs": 2,
        "best_epoch": run.best_epoch, "best_val_accuracy": summary["best_val_accuracy"],
    }  # fmt: skip
    assert (run.seed, run.hyperparameters["lr"], run.requested_by) == (1, 0.002, staff_admin)


def test_train_command_enqueue_returns_at_once(labelled_version, staff_admin):
    version = labelled_version(train={"cat": 3, "dog": 3})

    stdout, _, code = run_train(str(version.pk), "--arch", "resnet18", "--enqueue")

    run = TrainingRun.objects.get()
    assert code == 0
    assert json.loads(stdout.strip().splitlines()[-1]) == {
        "job": run.job_id,
        "run": run.pk,
        "status": "queued",
        "queue": "default",
    }
    assert run.hyperparameters["img_size"] == 224
    assert Job.objects.get().status == JobStatus.QUEUED


def test_train_command_on_a_one_class_version_exits_1_with_one_line(labelled_version, staff_admin):
    version = labelled_version(train={"cat": 3})

    stdout, stderr, code = run_train(str(version.pk), "--arch", "small-cnn")

    assert code == 1
    assert stderr.strip() == (
        f"error: {version} has only one class in its train split ('cat'); a classifier needs at least 2."
    )
    assert stdout == ""
    assert not TrainingRun.objects.exists()
