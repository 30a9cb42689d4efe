"""The report, list and start pages, the API (start, list, detail, structured 400s) and `manage.py find_spurious`."""

import json

import pytest
from django.core.management import call_command
from django.test import Client

from explain.spurious.models import SpuriousReport
from explain.spurious.services import spurious_report_create
from jobs.models import Job, JobStatus
from jobs.services import job_execute

pytestmark = pytest.mark.django_db

QUICK = {"device": "cpu", "min_support": 2, "swaps_per_image": 2}


@pytest.fixture
def finished(eval_version, stored_model, admin_user):
    """A finished report on a version with 5 + 5 train samples (one without a mask)."""
    version = eval_version({"cat": 5, "dog": 5}, split="train", without_mask=1)
    trained = stored_model(["cat", "dog"])
    report = spurious_report_create(trained_model=trained, version=version, params=QUICK, requested_by=admin_user,
                                    enqueue=False)  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()
    assert report.status == JobStatus.SUCCEEDED, report.job.error
    return report


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_report_page_lists_each_class_ranking_with_examples_and_the_flip_rate_chart(finished, viewer):
    response = signed_in(viewer).get(f"/spurious/{finished.pk}/")

    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-figure="flip-rate-figure"' in page and 'id="flip-rate-figure"' in page
    assert 'id="spurious-summary"' in page and "Null-edit flip rate (control)" in page
    assert '<th scope="row">' in page.split('id="spurious-params"')[1]  # the shared parameters table, with rows
    for name, ranking in finished.results["rankings"].items():
        assert f"{name}\n" in page or f"{name} " in page
        for feature in ranking["ranked"]:
            for example in feature.get("examples", []):
                assert f"/spurious/{finished.pk}/examples/{example['edited']}.png" in page
    assert "1 no mask" in page  # the left-out sample and its reason
    figure = json.loads(page.split('<script id="flip-rate-figure" type="application/json">')[1].split("</script>")[0])
    ranked = [n for n, r in finished.results["rankings"].items() if r["ranked"]]
    assert figure["data"][0]["x"] == ranked and figure["data"][1]["name"] == "null edit (control)"
    assert figure["data"][1]["y"] == [finished.results["rankings"][n]["null_flip_rate"] for n in ranked]


def test_report_page_and_api_show_the_share_of_flips_toward_the_background_s_class_beside_the_flip_rate(
    eval_version, stored_model, admin_user, viewer
):
    # Given a finished report of a three-class model (with two classes every flip lands on the other class, so the
    # direction rule is not tested there)
    version = eval_version({"cat": 3, "dog": 3, "bird": 3}, split="train")
    trained = stored_model(["cat", "dog", "bird"])
    report = spurious_report_create(trained_model=trained, version=version, params=QUICK, requested_by=admin_user,
                                    enqueue=False)  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()
    assert report.status == JobStatus.SUCCEEDED, report.job.error

    page = signed_in(viewer).get(f"/spurious/{report.pk}/").content.decode()
    detail = signed_in(viewer).get(f"/api/spurious-reports/{report.pk}/").json()

    backgrounds = [f for r in report.results["rankings"].values() for f in r["ranked"] if f["kind"] == "background"]
    assert backgrounds and "Flips toward the background's class" in page
    for feature in backgrounds:
        assert feature["directed_chance"] == 0.5 and feature["directed_bar"] == 0.5
        assert feature["suspected"] == (feature["flips_above_null"] and feature["directed_ci_low"] > 0.5)
        if feature["directed_images"]:
            shown = f'{feature["directed_share"] * 100:.1f}% <span class="muted">(chance 50.0%;'
            assert shown in page
        else:
            assert "no flip onto another class's background (chance 50.0%)" in page
    for name, ranking in detail["rankings"].items():
        assert ranking["ranked"] == report.results["rankings"][name]["ranked"]


def test_example_images_are_served_as_png_and_unknown_names_are_404(finished, viewer):
    client = signed_in(viewer)
    name = next(iter(finished.examples))

    image = client.get(f"/spurious/{finished.pk}/examples/{name}.png")
    missing = client.get(f"/spurious/{finished.pk}/examples/0/9/9/edited.png")

    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert b"".join(image.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    assert missing.status_code == 404


def test_list_page_links_each_report(finished, viewer):
    page = signed_in(viewer).get("/spurious/").content.decode()

    assert f'href="/spurious/{finished.pk}/"' in page and finished.trained_model.name in page
    assert "Find spurious features" not in page  # viewers cannot start one


def test_report_page_polls_while_running_and_refreshes_once_finished(eval_version, stored_model, admin_user, viewer):
    version = eval_version({"cat": 2, "dog": 2}, split="train")
    report = spurious_report_create(trained_model=stored_model(["cat", "dog"], fitted=False), version=version,
                                    requested_by=admin_user, enqueue=False)  # fmt: skip
    client = signed_in(viewer)

    running = client.get(f"/spurious/{report.pk}/", headers={"HX-Request": "true"})
    Job.objects.filter(pk=report.job_id).update(status=JobStatus.SUCCEEDED)
    done = client.get(f"/spurious/{report.pk}/", headers={"HX-Request": "true"})

    assert running.status_code == 200 and 'hx-trigger="every 2s"' in running.content.decode()
    assert "<html" not in running.content.decode()  # the partial alone
    assert done.status_code == 204 and done["HX-Refresh"] == "true"


def test_start_form_creates_the_report_and_opens_it(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    response = signed_in(admin_user).post(
        "/spurious/start/",
        {"trained_model": trained.pk, "version": version.pk, "split": "auto", "swaps_per_image": 2, "min_support": 3,
         "seed": 1},
    )  # fmt: skip

    report = SpuriousReport.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/spurious/{report.pk}/"
    assert (report.split, report.params["swaps_per_image"], report.params["min_support"], report.params["seed"]) == (
        "train",
        2,
        3,
        1,
    )


def test_start_form_shows_the_services_refusal(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2}, split="train", without_mask=4)
    trained = stored_model(["cat", "dog"], fitted=False)

    response = signed_in(admin_user).post(
        "/spurious/start/",
        {"trained_model": trained.pk, "version": version.pk, "split": "auto", "swaps_per_image": 3, "min_support": 5,
         "seed": 0},
    )  # fmt: skip

    assert response.status_code == 400 and "has an object mask" in response.content.decode()
    assert SpuriousReport.objects.count() == 0


def test_api_starts_a_report_and_reads_its_rankings(finished, admin_user, viewer, eval_version, stored_model,
                                                     django_capture_on_commit_callbacks):  # fmt: skip
    version = eval_version({"cat": 2, "dog": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    with django_capture_on_commit_callbacks(execute=False):
        started = signed_in(admin_user).post(
            "/api/spurious-reports/start/",
            {"trained_model": trained.pk, "version": version.pk, "params": {"swaps_per_image": 2}},
            content_type="application/json",
        )
    client = signed_in(viewer)
    detail = client.get(f"/api/spurious-reports/{finished.pk}/").json()
    listed = client.get(f"/api/spurious-reports/?version={finished.version_id}").json()

    new = SpuriousReport.objects.exclude(pk=finished.pk).get()
    assert started.status_code == 202
    assert started.json() == {
        "spurious_report": new.pk, "job": new.job_id, "status": "queued", "url": f"/api/jobs/{new.job_id}/",
        "report_url": f"/spurious/{new.pk}/",
    }  # fmt: skip
    assert detail["rankings"] == finished.results["rankings"]
    assert detail["summary"]["with_masks"] == 9 and detail["summary"]["left_out"] == 1
    assert set(detail["suspected"]) == set(finished.results["rankings"])
    assert [r["id"] for r in listed["results"]] == [finished.pk]
    assert client.get("/api/spurious-reports/999999/").json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"trained_model": 999999, "version": "VERSION"}, "validation_error", "trained_model"),
        ({"trained_model": "MODEL", "version": 999999}, "validation_error", "version"),
        ({"version": "VERSION"}, "validation_error", "trained_model"),
        ({"trained_model": "MODEL", "version": "VERSION", "params": {"min_support": 0}}, "invalid_params", None),
        ({"trained_model": "MODEL", "version": "VERSION", "params": "many"}, "validation_error", "params"),
    ],
)
def test_api_refuses_bad_payloads_with_structured_400s(eval_version, stored_model, admin_user, payload, code, field):
    version = eval_version({"cat": 1, "dog": 1}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)
    ids = {"MODEL": trained.pk, "VERSION": version.pk}
    body = {key: ids.get(value, value) if isinstance(value, str) else value for key, value in payload.items()}

    response = signed_in(admin_user).post("/api/spurious-reports/start/", body, content_type="application/json")

    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == code and error["message"]
    if field is not None:
        assert field in error["details"]
    assert SpuriousReport.objects.count() == 0 and Job.objects.filter(kind="find_spurious").count() == 0


@pytest.mark.parametrize(("labels", "without_mask", "code"), [({"bird": 2}, 0, "classes_mismatch"),
                                                              ({"cat": 2}, 2, "no_masks")])  # fmt: skip
def test_api_refuses_mismatched_classes_and_maskless_versions(eval_version, stored_model, admin_user, labels,
                                                              without_mask, code):  # fmt: skip
    version = eval_version(labels, split="train", without_mask=without_mask)
    trained = stored_model(["cat", "dog"], fitted=False)

    response = signed_in(admin_user).post(
        "/api/spurious-reports/start/", {"trained_model": trained.pk, "version": version.pk},
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 400 and response.json()["error"]["code"] == code
    assert SpuriousReport.objects.count() == 0


def test_api_start_is_for_admins(eval_version, stored_model, curator):
    version = eval_version({"cat": 1, "dog": 1}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    response = signed_in(curator).post(
        "/api/spurious-reports/start/", {"trained_model": trained.pk, "version": version.pk},
        content_type="application/json",
    )  # fmt: skip

    assert response.status_code == 403 and SpuriousReport.objects.count() == 0


def test_command_runs_inline_and_prints_the_report_id_and_top_features(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"cat": 3, "dog": 3}, split="train")
    trained = stored_model(["cat", "dog"])

    call_command("find_spurious", str(trained.pk), str(version.pk), "--device", "cpu", "--min-support", "2",
                 "--swaps", "1", "--user", admin_user.username)  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = SpuriousReport.objects.get()
    assert summary["spurious_report"] == report.pk and summary["job"] == report.job_id
    assert summary["samples"] == 6 and summary["with_masks"] == 6 and summary["left_out"] == 0
    assert set(summary["top_features"]) == set(report.results["rankings"])
    for name, top in summary["top_features"].items():
        ranked = report.results["rankings"][name]["ranked"]
        assert top == ({k: ranked[0][k] for k in top} if ranked else None)
    assert report.params["swaps_per_image"] == 1


@pytest.mark.parametrize(("which", "message"), [("model", "error: no trained model with id 999999"),
                                                ("version", "error: no dataset version with id 999999")])  # fmt: skip
def test_command_with_an_unknown_id_exits_1_with_one_line(eval_version, stored_model, admin_user, capsys, which,
                                                          message):  # fmt: skip
    version = eval_version({"cat": 1, "dog": 1}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)
    ids = [999999 if which == "model" else trained.pk, 999999 if which == "version" else version.pk]

    with pytest.raises(SystemExit) as exited:
        call_command("find_spurious", *map(str, ids), "--user", admin_user.username)

    assert exited.value.code == 1 and capsys.readouterr().err.strip() == message
    assert Job.objects.filter(kind="find_spurious").count() == 0


def test_command_with_mismatched_classes_exits_1_with_one_line(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"bird": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(SystemExit) as exited:
        call_command("find_spurious", str(trained.pk), str(version.pk), "--user", admin_user.username)

    error = capsys.readouterr().err.strip()
    assert exited.value.code == 1 and error.startswith("error: The model's classes do not match") and "\n" not in error
    assert Job.objects.filter(kind="find_spurious").count() == 0


def test_command_enqueue_returns_the_queued_job(eval_version, stored_model, admin_user, capsys,
                                                django_capture_on_commit_callbacks):  # fmt: skip
    version = eval_version({"cat": 1, "dog": 1}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    with django_capture_on_commit_callbacks(execute=False):
        call_command("find_spurious", str(trained.pk), str(version.pk), "--enqueue", "--no-pull", "--seed", "4",
                     "--user", admin_user.username)  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    report = SpuriousReport.objects.get()
    assert summary == {
        "job": report.job_id,
        "spurious_report": report.pk,
        "status": "queued",
        "queue": report.job.queue,
    }
    assert report.params["pull"] is False and report.params["seed"] == 4
