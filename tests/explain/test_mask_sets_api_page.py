"""Mask sets (issue #16): the API that starts an estimate_masks job and lists a version's sets with their
provider, coverage and IoU against the dataset's own masks; the version masks page (its form generated
from MaskParams); the job page's one-line summary. The versions are the evaluation tests' tiny scenes,
whose true masks are known."""

import pytest
from django.test import Client

from curation.masks.models import MaskSet, MaskSetStatus
from frontend.pages.job_results import job_outcome
from jobs.models import Job, JobStatus
from jobs.services import job_execute

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_curator_starts_masks_on_the_api_and_a_viewer_reads_their_measured_iou(eval_version, curator, viewer):
    version = eval_version({"cat": 2, "dog": 2})

    started = client_for(curator).post(f"/api/versions/{version.pk}/mask-sets/estimate/", {}, "application/json")

    assert started.status_code == 202
    body = started.json()
    mask_set = MaskSet.objects.get()
    assert (body["mask_set"]["provider"], body["mask_set"]["status"], body["job"]) == (
        "estimated", "running", mask_set.job_id
    )  # fmt: skip
    assert body["url"] == f"/api/jobs/{mask_set.job_id}/"
    assert job_execute(mask_set.job_id).status == JobStatus.SUCCEEDED
    mask_set.refresh_from_db()
    listed = client_for(viewer).get(f"/api/versions/{version.pk}/mask-sets/")
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert (row["id"], row["provider"], row["status"], row["planned"], row["with_mask"]) == (
        mask_set.pk, "estimated", "ready", 4, 4
    )  # fmt: skip
    assert row["coverage"] == 1.0 and row["median_iou"] == mask_set.quality["median_iou"] >= 0.6
    assert row["quality"]["compared"] == 4
    # asking again answers the ready set, with no job
    again = client_for(curator).post(f"/api/versions/{version.pk}/mask-sets/estimate/", {"provider": "estimated"})
    assert again.status_code == 200 and (again.json()["job"], again.json()["mask_set"]["id"]) == (None, mask_set.pk)
    assert Job.objects.filter(kind="estimate_masks").count() == 1


def test_the_api_refuses_the_datasets_own_masks_and_viewers_starting(eval_version, curator, viewer):
    version = eval_version({"cat": 2})
    url = f"/api/versions/{version.pk}/mask-sets/estimate/"

    refused = client_for(curator).post(url, {"provider": "dataset"}, "application/json")
    denied = client_for(viewer).post(url, {}, "application/json")

    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_params"
    assert denied.status_code == 403 and MaskSet.objects.count() == 0
    missing = client_for(viewer).get("/api/versions/999999/mask-sets/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_masks_page_starts_a_job_from_its_generated_form_and_lists_the_set_with_its_iou(eval_version, curator):
    version = eval_version({"cat": 2, "dog": 2})
    url = f"/datasets/{version.dataset_id}/v/{version.number}/masks/"
    client = client_for(curator)

    form_page = client.get(url).content.decode()
    started = client.post(url, {"provider": "estimated"})

    assert 'name="provider" value="estimated"' in form_page and "No masks estimated" in form_page
    mask_set = MaskSet.objects.get()
    assert started.status_code == 302 and started["Location"] == f"/jobs/{mask_set.job_id}/"
    job = job_execute(mask_set.job_id)
    mask_set.refresh_from_db()
    listing = client.get(url).content.decode()
    assert 'data-provider="estimated"' in listing
    assert f"{mask_set.quality['median_iou']:.2f} (4 compared)" in listing
    # the job page's summary names the provider, the version and the measured IoU
    outcome = job_outcome(job)
    assert outcome.summary == (
        f"4 masks estimated with estimated on {version.dataset.name} v{version.number}; median IoU "
        f"{mask_set.quality['median_iou']:.2f} against the dataset's own masks (4 images compared)."
    )
    assert ("Masks of this version", url) in [(link.label, link.url) for link in outcome.links]


def test_masks_of_a_version_without_true_masks_say_there_is_nothing_to_compare(eval_version, curator, viewer):
    version = eval_version({"cat": 2}, without_mask=2)
    client_for(curator).post(f"/datasets/{version.dataset_id}/v/{version.number}/masks/", {})
    mask_set = MaskSet.objects.get()

    job = job_execute(mask_set.job_id)

    mask_set.refresh_from_db()
    assert mask_set.status == MaskSetStatus.READY and mask_set.quality is None
    assert job_outcome(job).summary == (
        f"2 masks estimated with estimated on {version.dataset.name} v{version.number}; no true masks to compare."
    )
    listing = client_for(viewer).get(f"/datasets/{version.dataset_id}/v/{version.number}/masks/").content.decode()
    assert "no true masks to compare" in listing and 'id="mask-form"' not in listing
