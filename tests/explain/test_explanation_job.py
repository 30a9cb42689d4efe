"""The `explain` job end to end on tiny masked versions: rows, stored maps, scores, cancel, failures, bad input.

Versions come from the evaluation tests' `eval_version` (40 px scenes: a class-coloured 18 px square
on a grey texture, with its mask); models are small CNNs stored as checkpoints (`stored_model`), at
32 px, so the target layer (body.blocks.3) gives 4×4 maps.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command

from core.api_errors import ApplicationError
from core.storage import blob_read
from explain.ml.overlays import raw_maps_load
from explain.ml.scores import mask_scores, upsample
from explain.models import ExplanationRun, SampleExplanation
from explain.selectors import GalleryFilters, background_reliance_by_class, sample_explanation_list
from explain.services import explanation_run_create, explanation_run_files
from jobs.models import Job, JobStatus
from jobs.services import job_cancel_request, job_execute
from robustness.evaluation.services.dataset import sample_mask_load
from robustness.ml.checkpoints import checkpoint_build, checkpoint_write
from robustness.ml.models import create_model
from robustness.services.checkpoints import checkpoint_store
from tests.explain.models_for_tests import NO_CONV
from tests.robustness.factories import TrainedModelFactory

pytestmark = pytest.mark.django_db

QUICK = {"device": "cpu", "batch_size": 4, "road_percentiles": [50]}


def explain(trained, version, user, **params) -> ExplanationRun:
    run = explanation_run_create(
        trained_model=trained, version=version, requested_by=user, enqueue=False, params={**QUICK, **params}
    )
    job_execute(run.job_id)
    run.refresh_from_db()
    return run


def test_a_run_stores_raw_maps_pictures_and_scores_for_every_sample(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 4, "dog": 4}, without_mask=2)
    trained = stored_model(["cat", "dog"])

    run = explain(trained, version, admin_user)

    assert run.status == JobStatus.SUCCEEDED, run.job.error
    assert (run.target_layer, run.split, run.sample_count) == ("body.blocks.3", "test", 8)
    rows = list(SampleExplanation.objects.filter(run=run).select_related("sample").order_by("sample_id"))
    assert len(rows) == 8
    files = explanation_run_files(run.pk)
    assert len(files) == 2 + 3 * 8  # one .npz per batch of 4, three PNGs per sample
    assert sorted({row.raw_key for row in rows}) == [f for f in files if f.endswith(".npz")]
    assert {row.input_key for row in rows} | {row.heatmap_key for row in rows} | {row.overlay_key for row in rows} == {
        f for f in files if f.endswith(".png")
    }
    for row in rows:
        stored = raw_maps_load(blob_read(row.raw_key))
        raw = stored["raw"][row.raw_index]
        assert int(stored["sample_ids"][row.raw_index]) == row.sample_id
        assert raw.shape == (4, 4) and raw.dtype == np.float32
        # the row's mask scores are those of the stored unscaled map, upsampled to the input
        expected = mask_scores(upsample(raw[None], (32, 32))[0], sample_mask_load(row.sample, 32))
        assert row.pointing_hit == expected.pointing_hit
        assert row.energy_inside == pytest.approx(expected.energy_inside) if row.has_mask else row.energy_inside is None
        assert row.road_combined is not None and row.confidence_drop is not None and row.confidence_drop >= 0
    assert run.summary["overall"]["count"] == 8 and run.summary["overall"]["with_mask"] == 6
    assert run.job.result["explanation_run"] == run.pk and run.job.result["samples"] == 8


def test_samples_without_masks_have_absent_mask_scores_and_do_not_count_as_zero(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 3}, without_mask=2)  # both cats lack a mask
    trained = stored_model(["cat", "dog"])

    run = explain(trained, version, admin_user)

    cats = SampleExplanation.objects.filter(run=run, label="cat")
    assert [(r.has_mask, r.pointing_hit, r.energy_inside, r.background_reliance) for r in cats] == [
        (False, None, None, None)
    ] * 2
    dogs = list(SampleExplanation.objects.filter(run=run, label="dog"))
    reliance = background_reliance_by_class(run)
    assert reliance["cat"] is None
    assert reliance["dog"] == pytest.approx(sum(r.background_reliance for r in dogs) / 3)
    assert run.summary["per_class"]["cat"]["pointing_game"] is None
    assert run.summary["overall"]["background_reliance"] == pytest.approx(reliance["dog"])


def test_the_gallery_lists_misclassified_samples_first_then_by_background_reliance(
    eval_version, stored_model, admin_user
):
    version = eval_version({"cat": 4, "dog": 4, "bird": 4}, without_mask=1)
    trained = stored_model(["cat", "dog", "bird"], fitted=False)  # random weights: many mistakes
    run = explain(trained, version, admin_user, road_percentiles=[])

    rows = list(sample_explanation_list(run, GalleryFilters()))

    keys = [(row.correct, row.background_reliance) for row in rows]
    assert len(rows) == 12 and any(not c for c, _ in keys) and any(c for c, _ in keys)
    wrong, right = [r for c, r in keys if not c], [r for c, r in keys if c]
    assert keys == [(False, r) for r in wrong] + [(True, r) for r in right]
    for group in (wrong, right):
        present = [r for r in group if r is not None]
        assert group == sorted(present, reverse=True) + [None] * (len(group) - len(present))
    assert all(row.road_combined is None for row in rows)  # ROAD was skipped: absent, not zero
    dogs = list(sample_explanation_list(run, GalleryFilters(label="dog", sort="reliance_asc")))
    assert {row.label for row in dogs} == {"dog"} and len(dogs) == 4


def test_cancel_between_batches_stops_the_job_and_removes_what_it_wrote(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 4, "dog": 4})
    trained = stored_model(["cat", "dog"])
    run = explanation_run_create(
        trained_model=trained, version=version, requested_by=admin_user, enqueue=False, params=QUICK
    )
    seen: list[tuple[int, int]] = []

    def cancel_after_the_first_batch(done: int, total: int, message: str) -> None:
        if message.startswith("explained") and not seen:
            seen.append((done, SampleExplanation.objects.filter(run=run).count()))
            job_cancel_request(job=Job.objects.get(pk=run.job_id), user=admin_user)

    job = job_execute(run.job_id, progress_callback=cancel_after_the_first_batch)

    run.refresh_from_db()
    assert (job.status, job.message) == (JobStatus.CANCELLED, "Cancelled")
    assert seen == [(4, 4)]  # the first batch had been written when the cancel came
    assert SampleExplanation.objects.filter(run=run).count() == 0
    assert explanation_run_files(run.pk) == []
    assert (run.summary, run.finished_at) == ({}, None)


def test_a_missing_checkpoint_fails_the_job_with_its_reason_and_writes_nothing(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_model(["cat", "dog"])
    trained.checkpoint_best_key = "checkpoints/training-runs/0/missing.pt"
    trained.save(update_fields=["checkpoint_best_key"])

    run = explain(trained, version, admin_user)

    assert run.status == JobStatus.FAILED
    assert run.job.error.startswith(f"cannot load model {trained.name!r}:")
    assert SampleExplanation.objects.filter(run=run).count() == 0 and explanation_run_files(run.pk) == []


def stored_no_conv_model(tmp_path):
    trained = TrainedModelFactory(run__arch=NO_CONV, img_size=16)
    checkpoint = checkpoint_build(
        model=create_model(NO_CONV, 2), arch=NO_CONV, classes=["cat", "dog"], img_size=16, epoch=1
    )
    checkpoint_write(checkpoint, tmp_path / "no-conv.pt")
    trained.checkpoint_best_key = checkpoint_store(
        run_id=trained.run.pk, name="no-conv", local_path=tmp_path / "no-conv.pt"
    )
    trained.save(update_fields=["checkpoint_best_key"])
    return trained


NO_CONV_MESSAGE = (
    "architecture 'test-no-conv' has no convolutional layer and no target layer was given: Grad-CAM needs a spatial "
    "feature map; name a layer that outputs (N, C, H, W) with --target-layer (a dotted module path)"
)


def test_an_architecture_without_conv_layer_is_refused_before_any_job_exists(eval_version, admin_user, tmp_path):
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_no_conv_model(tmp_path)

    with pytest.raises(ApplicationError) as refused:
        explanation_run_create(trained_model=trained, version=version, requested_by=admin_user, enqueue=False)

    assert (refused.value.code, refused.value.message) == ("invalid_target_layer", NO_CONV_MESSAGE)
    assert ExplanationRun.objects.count() == 0 and Job.objects.filter(kind="explain").count() == 0


def test_a_run_of_an_architecture_without_conv_layer_fails_in_the_job_with_the_same_message(
    eval_version, admin_user, tmp_path
):
    """A run created without the service's check (an older row, another client) fails within the job, clearly."""
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_no_conv_model(tmp_path)
    job = Job.objects.create(kind="explain", params={}, requested_by=admin_user)
    run = ExplanationRun.objects.create(
        trained_model=trained, model_name=trained.name, model_arch=NO_CONV, model_classes=["cat", "dog"],
        model_img_size=16, version=version, target_layer="", split="test", params={**QUICK, "target": "predicted",
        "classes": None, "max_samples": None, "seed": 0}, job=job,
    )  # fmt: skip
    job.params = {"explanation_run_id": run.pk}
    job.save(update_fields=["params"])

    job = job_execute(job.pk)

    assert (job.status, job.error) == (JobStatus.FAILED, NO_CONV_MESSAGE)
    assert SampleExplanation.objects.filter(run=run).count() == 0 and explanation_run_files(run.pk) == []


def test_an_override_names_a_layer_of_a_model_without_spec_layer(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_model(["cat", "dog"])

    run = explanation_run_create(
        trained_model=trained, version=version, target_layer="body.blocks.2", requested_by=admin_user,
        enqueue=False, params=QUICK,
    )  # fmt: skip
    job_execute(run.job_id)

    row = SampleExplanation.objects.filter(run=run).first()
    assert run.target_layer == "body.blocks.2"
    assert raw_maps_load(blob_read(row.raw_key))["raw"].shape[1:] == (8, 8)  # one pooling fewer than blocks.3
    with pytest.raises(ApplicationError, match=r"the model has no module 'body\.blocks\.9'") as refused:
        explanation_run_create(
            trained_model=trained, version=version, target_layer="body.blocks.9", requested_by=admin_user, enqueue=False
        )
    assert refused.value.code == "invalid_target_layer"


def test_a_model_deleted_before_its_run_starts_fails_the_job_clearly(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_model(["cat", "dog"])
    run = explanation_run_create(trained_model=trained, version=version, requested_by=admin_user, enqueue=False)
    name = trained.name

    trained.delete()
    job = job_execute(run.job_id)

    run.refresh_from_db()
    assert (run.trained_model_id, run.model_name, run.model_deleted) == (None, name, True)
    assert (job.status, job.error) == (
        JobStatus.FAILED,
        f"the model {name!r} was deleted before explanation run {run.pk} ran",
    )
    assert SampleExplanation.objects.filter(run=run).count() == 0


def test_a_model_deleted_while_its_run_explains_leaves_a_complete_run_under_the_model_s_name(
    eval_version, stored_model, admin_user
):
    """The weights were loaded when the job started: the maps are that model's, recorded under its snapshot."""
    version = eval_version({"cat": 4, "dog": 4})
    trained = stored_model(["cat", "dog"])
    run = explanation_run_create(
        trained_model=trained, version=version, requested_by=admin_user, enqueue=False, params=QUICK
    )

    def delete_the_model_after_the_first_batch(done: int, total: int, message: str) -> None:
        if message.startswith("explained") and done == 4:
            trained.delete()

    job = job_execute(run.job_id, progress_callback=delete_the_model_after_the_first_batch)

    run.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert run.model_deleted and run.summary["overall"]["count"] == 8
    assert SampleExplanation.objects.filter(run=run).count() == 8


def test_command_runs_inline_with_filters_and_prints_the_summary_as_its_last_line(
    eval_version, stored_model, admin_user, capsys
):
    version = eval_version({"cat": 3, "dog": 2})
    trained = stored_model(["cat", "dog"])

    call_command(
        "explain", str(trained.pk), str(version.pk), "--method", "gradcam++", "--filter", "class=dog",
        "--filter", "max_samples=1", "--road-percentiles", "none", "--device", "cpu", "--user", admin_user.username,
    )  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = ExplanationRun.objects.get()
    assert summary["explanation_run"] == run.pk and summary["job"] == run.job_id
    assert (summary["method"], summary["samples"], summary["road_combined"]) == ("gradcam++", 1, None)
    assert run.sample_count == 1
    assert set(SampleExplanation.objects.filter(run=run).values_list("label", flat=True)) == {"dog"}
    assert summary["background_reliance_by_class"]["cat"] is None


def test_command_with_an_architecture_without_conv_layer_exits_1_with_one_line(
    eval_version, admin_user, tmp_path, capsys
):
    version = eval_version({"cat": 2, "dog": 2})
    trained = stored_no_conv_model(tmp_path)

    with pytest.raises(SystemExit) as exited:
        call_command("explain", str(trained.pk), str(version.pk), "--user", admin_user.username)

    assert exited.value.code == 1
    assert capsys.readouterr().err.strip() == f"error: {NO_CONV_MESSAGE}"
    assert Job.objects.filter(kind="explain").count() == 0


def test_command_refuses_a_malformed_filter(eval_version, stored_model, admin_user, capsys):
    version = eval_version({"cat": 1, "dog": 1})
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(SystemExit):
        call_command(
            "explain", str(trained.pk), str(version.pk), "--filter", "colour=red", "--user", admin_user.username
        )

    assert capsys.readouterr().err.strip() == (
        "error: bad --filter 'colour=red': use KEY=VALUE with KEY one of split, class, max_samples"
    )


def test_registering_the_job_kind_imports_neither_the_explainers_nor_the_job_service():
    code = (
        "import sys, django; django.setup(); from jobs.runtime import JOB_KINDS; "
        "print('explain' in JOB_KINDS, 'explain.ml.cams' in sys.modules, 'explain.services.runs' in sys.modules)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"}
    env |= {
        name: os.environ[name] for name in ("DATABASE_URL", "CELERY_BROKER_URL", "WINNOW_VAR_DIR") if name in os.environ
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR, env=env)

    assert out.stdout.strip() == "True False False", out.stderr[-2000:]


def test_command_enqueue_returns_the_queued_job(
    eval_version, stored_model, admin_user, capsys, django_capture_on_commit_callbacks
):
    version = eval_version({"cat": 1, "dog": 1})
    trained = stored_model(["cat", "dog"], fitted=False)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        call_command(
            "explain", str(trained.pk), str(version.pk), "--enqueue", "--target-layer", "body.blocks.2",
            "--filter", "split=all", "--user", admin_user.username,
        )  # fmt: skip

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = ExplanationRun.objects.get()
    assert summary == {"job": run.job_id, "explanation_run": run.pk, "status": "queued", "queue": run.job.queue}
    assert (run.target_layer, run.split, len(callbacks)) == ("body.blocks.2", "all", 1)
