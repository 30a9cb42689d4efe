"""The explanation pages (report, gallery, side by side, pictures) and the API (start, list, detail, sample scores)."""

import pytest
from django.test import Client

from core.storage import blob_delete, blob_read
from explain.ml.overlays import raw_maps_load
from explain.models import ExplanationRun, SampleExplanation
from explain.services import explanation_run_create
from jobs.models import Job, JobStatus
from jobs.services import job_execute

pytestmark = pytest.mark.django_db

QUICK = {"device": "cpu", "batch_size": 4, "road_percentiles": [50]}


@pytest.fixture
def finished(eval_version, stored_model, admin_user):
    """`finished()` → a succeeded run over 3 cats (the first without a mask) and 3 dogs.

    `finished(version, fitted=False)` explains that version with another (random) model.
    """
    made: dict = {}

    def make(version=None, fitted: bool = True) -> ExplanationRun:
        version = version or made.setdefault("version", eval_version({"cat": 3, "dog": 3}, without_mask=1))
        trained = stored_model(["cat", "dog"], fitted=fitted)
        run = explanation_run_create(
            trained_model=trained, version=version, requested_by=admin_user, enqueue=False, params=QUICK
        )
        job_execute(run.job_id)
        run.refresh_from_db()
        assert run.status == JobStatus.SUCCEEDED, run.job.error
        return run

    return make


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_start_api_creates_the_run_and_its_gpu_job(eval_version, stored_model, admin_user,
                                                   django_capture_on_commit_callbacks):  # fmt: skip
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_model(["cat", "dog"], fitted=False)
    payload = {"trained_model": trained.pk, "version": version.pk, "method": "eigencam", "params": {"max_samples": 3}}

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = signed_in(admin_user).post("/api/explanations/start/", payload, content_type="application/json")

    run = ExplanationRun.objects.get()
    assert response.status_code == 202
    assert response.json() == {
        "explanation_run": run.pk, "job": run.job_id, "status": "queued", "target_layer": "body.blocks.3",
        "url": f"/api/jobs/{run.job_id}/", "report_url": f"/explanations/{run.pk}/",
    }  # fmt: skip
    assert (run.method, run.sample_count, run.job.kind, len(callbacks)) == ("eigencam", 3, "explain", 1)
    assert run.params["max_samples"] == 3 and run.params["road_percentiles"] == [20, 40, 60, 80]


def test_start_api_refuses_bad_input_with_a_structured_400_and_creates_nothing(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_model(["cat", "dog"], fitted=False)
    client = signed_in(admin_user)
    cases = {
        "invalid_target_layer": {"target_layer": "body.nowhere"},
        "invalid_params": {"params": {"colour": "red"}},
        "invalid_method": {"method": "scorecam"},
        "validation_error": {"version": 999999},
    }

    for code, change in cases.items():
        body = {"trained_model": trained.pk, "version": version.pk, **change}
        response = client.post("/api/explanations/start/", body, content_type="application/json")
        assert (response.status_code, response.json()["error"]["code"]) == (400, code), response.json()

    assert ExplanationRun.objects.count() == 0 and Job.objects.filter(kind="explain").count() == 0


def test_a_viewer_reads_but_cannot_start(viewer, finished):
    run = finished()
    client = signed_in(viewer)

    assert client.get(f"/api/explanations/{run.pk}/").status_code == 200
    refused = client.post("/api/explanations/start/", {}, content_type="application/json")
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "permission_denied")
    assert client.get("/explanations/start/").status_code == 403


def test_detail_api_gives_the_headline_and_per_class_scores(viewer, finished):
    run = finished()

    body = signed_in(viewer).get(f"/api/explanations/{run.pk}/").json()

    rows = SampleExplanation.objects.filter(run=run)
    dogs = [r.background_reliance for r in rows.filter(label="dog")]
    assert (body["status"], body["method"], body["model_deleted"], body["trained_model"]) == (
        "succeeded", "gradcam", False, run.trained_model_id
    )  # fmt: skip
    assert body["headline"]["samples"] == 6 and body["headline"]["with_mask"] == 5
    assert body["headline"]["background_reliance_by_class"]["dog"] == pytest.approx(sum(dogs) / 3)
    assert body["scores"]["per_class"]["cat"]["with_mask"] == 2
    assert sorted(body["scores"]) == ["by_background", "correct", "masks", "misclassified", "overall", "per_class"]
    assert body["scores"]["masks"]["provider"] == "dataset" and body["scores"]["masks"]["estimated"] is False


def test_samples_api_lists_per_sample_scores_with_filters_and_nulls_where_there_is_no_mask(viewer, finished):
    run = finished()
    client = signed_in(viewer)

    unmasked = client.get(f"/api/explanations/{run.pk}/samples/", {"has_mask": "false"}).json()["results"]
    dogs = client.get(f"/api/explanations/{run.pk}/samples/", {"label": "dog"}).json()["results"]
    first = client.get(f"/api/explanations/{run.pk}/samples/", {"page_size": 4}).json()
    rest = client.get(first["next"]).json()

    assert len(unmasked) == 1
    fields = ("label", "has_mask", "pointing_hit", "energy_inside", "background_reliance")
    assert [unmasked[0][k] for k in fields] == ["cat", False, None, None, None]
    sample = unmasked[0]["sample"]
    assert unmasked[0]["images"]["overlay"] == f"/explanations/{run.pk}/samples/{sample}/overlay.png"
    assert {row["label"] for row in dogs} == {"dog"} and len(dogs) == 3
    ids = [row["id"] for row in first["results"] + rest["results"]]
    assert ids == sorted(SampleExplanation.objects.filter(run=run).values_list("id", flat=True))
    missing = client.get("/api/explanations/999999/samples/")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_raw_maps_download_as_the_stored_npz_of_each_batch(viewer, finished):
    # given a run of 6 samples explained in batches of 4
    run = finished()
    client = signed_in(viewer)

    # when a viewer reads the run's raw files and downloads each
    files = client.get(f"/api/explanations/{run.pk}/").json()["raw_files"]
    downloads = {f["name"]: client.get(f["url"]) for f in files}

    # then there is one .npz per batch, as stored, and each sample's raw_url and raw_index find its map
    assert [(f["name"], f["samples"]) for f in files] == [("batch-00000.npz", 4), ("batch-00001.npz", 2)]
    keys = set(SampleExplanation.objects.filter(run=run).values_list("raw_key", flat=True))
    for name, response in downloads.items():
        assert response.status_code == 200 and response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"] == f'attachment; filename="explanation-{run.pk}-{name}"'
        key = next(k for k in keys if k.endswith("/" + name))
        assert b"".join(response.streaming_content) == blob_read(key)
    for row in client.get(f"/api/explanations/{run.pk}/samples/").json()["results"]:
        name = row["raw_url"].rsplit("/", 1)[-1]
        stored = raw_maps_load(blob_read(next(k for k in keys if k.endswith("/" + name))))
        assert int(stored["sample_ids"][row["raw_index"]]) == row["sample"]


def test_raw_maps_download_refuses_other_files_with_a_structured_404(viewer, finished):
    # given two runs, one of whose files was lost from storage
    run, other = finished(), finished()
    client = signed_in(viewer)
    lost = SampleExplanation.objects.filter(run=other).order_by("raw_key").last()
    blob_delete(lost.raw_key)

    # when a viewer asks for a name no sample of the run was stored in, or the lost file
    unknown = client.get(f"/api/explanations/{run.pk}/raw/batch-00009.npz")
    traversal = client.get(f"/api/explanations/{run.pk}/raw/..%2F..%2Fsecret.npz")
    missing = client.get(f"/api/explanations/{other.pk}/raw/{lost.raw_key.rsplit('/', 1)[-1]}")
    no_run = client.get("/api/explanations/999999/raw/batch-00000.npz")

    # then each is a 404 with a stable code
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert traversal.status_code == 404
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "file_not_found")
    assert (no_run.status_code, no_run.json()["error"]["code"]) == (404, "not_found")


def test_report_page_shows_scores_per_class_with_charts(viewer, finished):
    run = finished()

    page = signed_in(viewer).get(f"/explanations/{run.pk}/").content.decode()

    assert "Background reliance" in page and 'data-figure="reliance-figure"' in page
    assert 'id="reliance-figure"' in page and "plotly.min.js" in page
    assert f"{run.summary['overall']['background_reliance'] * 100:.1f}%" in page
    assert f'href="/explanations/{run.pk}/gallery/?label=dog"' in page
    assert '<th scope="row">' in page.split('id="explanation-params"')[1]  # the shared parameters table, with rows


def test_gallery_shows_overlays_with_an_opacity_slider_and_marks_absent_mask_scores(viewer, finished):
    run = finished()

    page = signed_in(viewer).get(f"/explanations/{run.pk}/gallery/").content.decode()

    assert 'data-cam-opacity="cam-gallery"' in page and "explain_gallery.js" in page
    assert page.count('class="cam-heat"') == 6
    assert page.count("no mask: mask scores absent") == 1
    only_cats = signed_in(viewer).get(f"/explanations/{run.pk}/gallery/?label=cat").content.decode()
    assert only_cats.count('class="cam-heat"') == 3


def test_pictures_are_the_stored_pngs(viewer, finished):
    run = finished()
    row = SampleExplanation.objects.filter(run=run).first()
    client = signed_in(viewer)

    for kind in ("input", "heatmap", "overlay"):
        response = client.get(f"/explanations/{run.pk}/samples/{row.sample_id}/{kind}.png")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        assert b"".join(response.streaming_content) == blob_read(getattr(row, f"{kind}_key"))
    assert client.get(f"/explanations/{run.pk}/samples/{row.sample_id}/mask.png").status_code == 404


def test_side_by_side_shows_the_same_samples_under_two_models(viewer, finished):
    left = finished()
    right = finished(left.version, fitted=False)

    page = signed_in(viewer).get(f"/explanations/compare/?left={left.pk}&right={right.pk}").content.decode()

    assert page.count('class="cam-pair card"') == 6
    for row in SampleExplanation.objects.filter(run=left):
        assert f"/explanations/{left.pk}/samples/{row.sample_id}/heatmap.png" in page
        assert f"/explanations/{right.pk}/samples/{row.sample_id}/heatmap.png" in page
    assert signed_in(viewer).get("/explanations/compare/").status_code == 404


def test_a_deleted_model_s_explanations_stay_readable_and_say_so(viewer, admin_user, finished):
    run = finished()
    other = finished(run.version, fitted=False)
    client = signed_in(viewer)
    name, model_id = run.model_name, run.trained_model_id
    assert client.get(f"/explanations/{run.pk}/").status_code == 200  # the page is open...

    run.trained_model.delete()  # ...when the model goes

    report = client.get(f"/explanations/{run.pk}/")
    gallery = client.get(f"/explanations/{run.pk}/gallery/")
    compare = client.get(f"/explanations/compare/?left={run.pk}&right={other.pk}")
    detail = client.get(f"/api/explanations/{run.pk}/").json()
    listed = client.get("/api/explanations/").json()["results"]
    row = SampleExplanation.objects.filter(run=run).first()
    picture = client.get(f"/explanations/{run.pk}/samples/{row.sample_id}/overlay.png")
    restart = signed_in(admin_user).post(
        "/api/explanations/start/",
        {"trained_model": model_id, "version": run.version_id},
        content_type="application/json",
    )

    assert [r.status_code for r in (report, gallery, compare, picture)] == [200, 200, 200, 200]
    assert "The model this run explained was deleted" in report.content.decode() and name in report.content.decode()
    assert "model deleted" in gallery.content.decode() and f"{name} (deleted)" in compare.content.decode()
    assert (detail["trained_model"], detail["model_deleted"], detail["model_name"]) == (None, True, name)
    assert detail["headline"]["samples"] == 6
    assert [r["model_deleted"] for r in listed if r["id"] == run.pk] == [True]
    assert (restart.status_code, restart.json()["error"]["code"]) == (400, "validation_error")
    assert "trained_model" in restart.json()["error"]["details"]


def test_report_polls_its_status_while_the_job_runs_and_refreshes_once_it_ends(viewer, eval_version, stored_model,
                                                                              admin_user):  # fmt: skip
    version = eval_version({"cat": 1, "dog": 1})
    run = explanation_run_create(
        trained_model=stored_model(["cat", "dog"], fitted=False), version=version, requested_by=admin_user,
        enqueue=False, params=QUICK,
    )  # fmt: skip
    client = signed_in(viewer)

    queued = client.get(f"/explanations/{run.pk}/", headers={"HX-Request": "true"})
    job_execute(run.job_id)
    ended = client.get(f"/explanations/{run.pk}/", headers={"HX-Request": "true"})

    assert queued.status_code == 200 and 'hx-trigger="every 2s"' in queued.content.decode()
    assert (ended.status_code, ended["HX-Refresh"]) == (204, "true")


def test_start_page_creates_a_run_or_shows_the_reason(admin_user, eval_version, stored_model, tmp_path):
    version = eval_version({"cat": 1, "dog": 1})
    trained = stored_model(["cat", "dog"], fitted=False)
    client = signed_in(admin_user)
    form = {"trained_model": trained.pk, "version": version.pk, "method": "gradcam", "split": "auto", "road": "on"}

    refused = client.post("/explanations/start/", {**form, "target_layer": "head.nowhere"})
    started = client.post("/explanations/start/", form)

    assert refused.status_code == 400 and "the model has no module &#x27;head.nowhere&#x27;" in refused.content.decode()
    run = ExplanationRun.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/explanations/{run.pk}/"
