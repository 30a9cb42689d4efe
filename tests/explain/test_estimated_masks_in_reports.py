"""Estimated masks end to end: the estimate_masks job and command, and the reports that use them
(attribute edits, spurious features, Grad-CAM mask scores), marked "estimated", with clear refusals.

The versions are the evaluation tests' tiny scenes (class-coloured squares on a grey texture, 40 px), so
the true masks are known; the IoU threshold (median >= 0.6) was chosen before measuring.
"""

import io
import json

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from PIL import Image

from core.api_errors import ApplicationError
from core.storage import blob_read
from curation.masks.models import EstimatedMask, MaskSet, MaskSetStatus
from curation.masks.services import mask_set_start
from curation.models import Sample
from explain.models import SampleExplanation
from explain.services import explanation_run_create
from explain.spurious.models import SpuriousReport
from explain.spurious.services import spurious_report_create
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.services import evaluation_run_create

pytestmark = pytest.mark.django_db


def page(user, url: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def estimated(version, user) -> MaskSet:
    mask_set = mask_set_start(version=version, provider="estimated", requested_by=user, enqueue=False)
    assert job_execute(mask_set.job_id).status == JobStatus.SUCCEEDED
    mask_set.refresh_from_db()
    return mask_set


def test_the_command_stores_a_mask_per_member_and_their_iou_against_the_true_masks(eval_version, admin_user, capsys):
    # given 6 scenes with true masks
    version = eval_version({"cat": 3, "dog": 3})
    # when
    call_command("estimate_masks", str(version.pk), "--provider", "estimated", "--user", admin_user.username)
    # then: the last line is JSON, the set is ready with one PNG per member at the image's size
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    mask_set = MaskSet.objects.get()
    assert summary["mask_set"] == mask_set.pk and summary["provider"] == "estimated" and summary["masks"] == 6
    assert (summary["dataset_id"], summary["version_id"]) == (version.dataset_id, version.pk)
    assert mask_set.status == MaskSetStatus.READY and (mask_set.planned, mask_set.done, mask_set.with_mask) == (6, 6, 6)
    assert mask_set.provider_spec["family"] == "estimated" and mask_set.provider_spec["estimated"] is True
    rows = list(EstimatedMask.objects.filter(mask_set=mask_set))
    assert sorted(r.sample_id for r in rows) == sorted(Sample.objects.values_list("pk", flat=True))
    for row in rows:
        mask = np.asarray(Image.open(io.BytesIO(blob_read(row.mask_key))))
        assert mask.shape == (40, 40) and set(np.unique(mask)) <= {0, 255}
        assert row.foreground == pytest.approx((mask > 0).mean())
    quality = mask_set.quality
    assert quality["compared"] == 6 and quality["median_iou"] >= 0.6 and summary["quality"] == quality
    job = Job.objects.get(kind="estimate_masks")
    assert (
        job.status == JobStatus.SUCCEEDED and job.result["mask_set"] == mask_set.pk and job.queue in ("gpu", "default")
    )


def test_asking_again_returns_the_ready_set_and_starts_no_job(eval_version, admin_user):
    version = eval_version({"cat": 2})
    first = estimated(version, admin_user)

    again = mask_set_start(version=version, provider="estimated", requested_by=admin_user, enqueue=False)

    assert again.pk == first.pk and Job.objects.filter(kind="estimate_masks").count() == 1


@pytest.mark.parametrize(
    ("provider", "fragment"), [("dataset", "nothing to estimate"), ("grabcut", "unknown mask provider")]
)
def test_the_dataset_provider_and_unknown_names_are_refused(eval_version, admin_user, provider, fragment):
    version = eval_version({"cat": 2})

    with pytest.raises(ApplicationError, match=fragment) as refused:
        mask_set_start(version=version, provider=provider, requested_by=admin_user)

    assert refused.value.code == "invalid_params" and MaskSet.objects.count() == 0
    assert not Job.objects.filter(kind="estimate_masks").exists()


def test_attribute_edits_without_any_mask_are_refused_naming_the_command_that_makes_them(
    eval_version, stored_model, admin_user, capsys
):
    # given a version whose samples have no mask and no estimated ones
    version = eval_version({"cat": 2, "dog": 2}, without_mask=4)
    trained = stored_model(["cat", "dog"], fitted=False)
    # when / then: the service refuses before any job exists
    with pytest.raises(ApplicationError) as refused:
        evaluation_run_create(trained_model=trained, version=version, suites=["attributes"], requested_by=admin_user)
    assert refused.value.code == "no_masks"
    assert f"manage.py estimate_masks {version.pk} --provider estimated" in refused.value.message
    assert EvaluationRun.objects.count() == 0 and Job.objects.filter(kind="evaluate").count() == 0
    # and the command exits 1 with that message instead of 0 with empty edits
    with pytest.raises(SystemExit) as exited:
        call_command(
            "evaluate", str(trained.pk), str(version.pk), "--suite", "attributes", "--user", admin_user.username
        )
    assert exited.value.code == 1 and "estimate_masks" in capsys.readouterr().err


def test_attribute_edits_use_the_stored_estimated_masks_and_say_so(eval_version, stored_model, admin_user):
    # given a maskless version whose masks were estimated, and a set measured on a version with true masks
    measured = estimated(eval_version({"cat": 3, "dog": 3}), admin_user)
    version = eval_version({"cat": 3, "dog": 3}, without_mask=6)
    own = estimated(version, admin_user)
    trained = stored_model(["cat", "dog"])
    # when
    run = evaluation_run_create(
        trained_model=trained, version=version, suites=["attributes"], requested_by=admin_user, enqueue=False,
        params={"device": "cpu", "edits": ["null", "background_swap"]},
    )  # fmt: skip
    assert job_execute(run.job_id).status == JobStatus.SUCCEEDED
    run.refresh_from_db()
    # then: every sample takes part, the edits are measured, and the figures name their estimated masks
    attributes = run.results["attributes"]
    assert attributes["with_masks"] == 6 and set(attributes["edits"]) == {"null", "background_swap"}
    masks = attributes["masks"]
    assert (masks["provider"], masks["estimated"], masks["mask_set"]) == ("estimated", True, own.pk)
    assert masks["quality"] == measured.quality and masks["quality_note"] is None
    assert run.params["masks"] == "estimated"
    # and the report page marks the figures as resting on estimated masks, with their measured IoU
    html = page(admin_user, f"/evaluations/{run.pk}/")
    assert 'data-masks-estimated="true"' in html and "Estimated masks." in html
    assert f"median IoU {measured.quality['median_iou']:.2f} against the true masks" in html


def test_find_spurious_on_a_maskless_version_runs_on_estimated_masks_marked_estimated(
    eval_version, stored_model, admin_user
):
    version = eval_version({"cat": 4, "dog": 4}, split="train", without_mask=8)
    trained = stored_model(["cat", "dog"])
    with pytest.raises(ApplicationError) as refused:  # nothing estimated yet: a clear refusal
        spurious_report_create(trained_model=trained, version=version, requested_by=admin_user)
    assert refused.value.code == "no_masks" and "estimate_masks" in refused.value.message
    estimated(version, admin_user)

    report = spurious_report_create(
        trained_model=trained, version=version, params={"device": "cpu", "min_support": 2}, requested_by=admin_user,
        enqueue=False,
    )  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()

    assert report.status == JobStatus.SUCCEEDED, report.job.error
    assert report.results["with_masks"] == 8 and report.results["masks"]["estimated"] is True
    assert report.results["masks"]["provider"] == "estimated" and report.params["masks"] == "estimated"
    # no version with true masks was estimated here: the report says the quality was not measured
    assert report.results["masks"]["quality"] is None and "not measured" in report.results["masks"]["quality_note"]
    html = page(admin_user, f"/spurious/{report.pk}/")
    assert 'data-masks-provider="estimated"' in html and "Their quality has not been measured" in html


def test_a_named_provider_without_stored_masks_is_refused(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(ApplicationError) as refused:
        spurious_report_create(
            trained_model=trained, version=version, params={"masks": "estimated"}, requested_by=admin_user
        )

    assert refused.value.code == "no_masks" and "no masks by estimated were estimated" in refused.value.message
    assert SpuriousReport.objects.count() == 0


def test_grad_cam_mask_scores_use_estimated_masks_and_the_summary_says_so(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2}, without_mask=4)
    trained = stored_model(["cat", "dog"])
    params = {"device": "cpu", "batch_size": 4, "road_percentiles": []}
    before = explanation_run_create(trained_model=trained, version=version, params=params, requested_by=admin_user,
                                    enqueue=False)  # fmt: skip
    job_execute(before.job_id)
    assert not SampleExplanation.objects.filter(run=before, has_mask=True).exists()  # no masks: scores undefined
    estimated(version, admin_user)

    run = explanation_run_create(trained_model=trained, version=version, params=params, requested_by=admin_user,
                                 enqueue=False)  # fmt: skip
    job_execute(run.job_id)
    run.refresh_from_db()

    rows = SampleExplanation.objects.filter(run=run)
    assert rows.count() == 4 and all(r.has_mask and r.pointing_hit is not None for r in rows)
    assert run.summary["masks"]["estimated"] is True and run.summary["masks"]["provider"] == "estimated"
    assert run.job.result["masks"] == "estimated" and run.job.result["masks_estimated"] is True
    assert "Estimated masks." in page(admin_user, f"/explanations/{run.pk}/")
    assert "Estimated masks." not in page(admin_user, f"/explanations/{before.pk}/")


def test_a_job_that_fails_between_batches_leaves_no_rows_or_files_and_can_start_over(
    eval_version, admin_user, monkeypatch
):
    # given 4 members estimated 2 per batch, and a failure in the second batch
    from curation.masks.services import mask_sets as services

    version = eval_version({"cat": 2, "dog": 2})
    monkeypatch.setattr(services, "BATCH_SIZE", 2)
    calls, store = [], services._store_batch

    def failing_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return store(*args, **kwargs)

    monkeypatch.setattr(services, "_store_batch", failing_second)
    mask_set = mask_set_start(version=version, provider="estimated", requested_by=admin_user, enqueue=False)
    # when
    job = job_execute(mask_set.job_id)
    # then: the first batch's rows and PNGs are gone and the set says it failed
    mask_set.refresh_from_db()
    assert job.status == JobStatus.FAILED and "disk full" in job.error
    assert mask_set.status == MaskSetStatus.FAILED and not EstimatedMask.objects.exists()
    assert not default_storage.exists(f"masks/sets/{mask_set.pk}") or default_storage.listdir(
        f"masks/sets/{mask_set.pk}"
    ) == ([], [])
    # and asking again starts the same set over with a new job
    monkeypatch.setattr(services, "_store_batch", store)
    again = estimated(version, admin_user)
    assert again.pk == mask_set.pk and again.with_mask == 4 and EstimatedMask.objects.count() == 4


def test_clipseg_offline_fails_the_job_at_once_with_what_to_do(eval_version, admin_user, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    version = eval_version({"cat": 2})
    mask_set = mask_set_start(
        version=version, provider="clipseg:CIDAS/clipseg-rd64-refined", requested_by=admin_user, enqueue=False
    )

    job = job_execute(mask_set.job_id)

    mask_set.refresh_from_db()
    assert job.status == JobStatus.FAILED and "HF_HUB_OFFLINE is set" in job.error
    assert "hf download CIDAS/clipseg-rd64-refined" in job.error
    assert mask_set.status == MaskSetStatus.FAILED and not EstimatedMask.objects.exists()
