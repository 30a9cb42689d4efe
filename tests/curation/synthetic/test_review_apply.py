"""Review (one image, bulk), applying approved images into a new version, and evaluation leaving them out."""

import numpy as np
import pytest

from core.api_errors import ApplicationError
from curation.models import DatasetVersion, LabelOrigin, SampleSource, VersionOperation, VersionSample
from curation.synthetic.models import SyntheticImage
from curation.synthetic.services.apply import synthetic_batch_apply
from curation.synthetic.services.plans import plan_params_validate, synthetic_batch_create
from curation.synthetic.services.review import synthetic_image_review, synthetic_images_review_bulk
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from robustness.evaluation.services.dataset import evaluation_set_load
from robustness.ml.preprocessing import Preprocessing

pytestmark = pytest.mark.django_db


@pytest.fixture
def generated(masked_version, curator):
    """A composite batch of 2 images per class on the masked version, generated."""
    params = plan_params_validate(version_id=masked_version.version.pk, mode="composite", per_class=2)
    batch = synthetic_batch_create(params=params, user=curator)
    job = job_execute(job_create(kind="synthetic_generate", params={"batch_id": batch.pk}, requested_by=curator).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return batch


def images_of(batch) -> list[SyntheticImage]:
    return list(SyntheticImage.objects.filter(batch=batch).order_by("position"))


def test_one_image_is_approved_rejected_and_put_back_with_who_and_when(generated, curator):
    image = images_of(generated)[0]

    approved = synthetic_image_review(image=image, decision="approved", user=curator)
    assert (approved.status, approved.reviewed_by, approved.reviewed_at is not None) == ("approved", curator, True)
    rejected = synthetic_image_review(image=image, decision="rejected", user=curator)
    assert rejected.status == "rejected"
    undone = synthetic_image_review(image=image, decision="pending", user=curator)
    assert (undone.status, undone.reviewed_by, undone.reviewed_at) == ("pending", None, None)
    with pytest.raises(ApplicationError) as refused:
        synthetic_image_review(image=image, decision="maybe", user=curator)
    assert refused.value.code == "invalid_decision"


def test_bulk_review_changes_pending_images_only_and_can_take_the_unflagged(generated, curator):
    first, second, *_ = images_of(generated)
    synthetic_image_review(image=first, decision="rejected", user=curator)
    SyntheticImage.objects.filter(pk=second.pk).update(flagged=True)

    changed = synthetic_images_review_bulk(batch=generated, decision="approved", user=curator, flagged=False)

    assert changed == 2
    statuses = [i.status for i in images_of(generated)]
    assert statuses == ["rejected", "pending", "approved", "approved"]
    with pytest.raises(ApplicationError) as refused:
        synthetic_images_review_bulk(batch=generated, decision="approved", user=curator, image_ids=[first.pk, 10**9])
    assert refused.value.code == "invalid_images"
    assert [i.status for i in images_of(generated)] == statuses  # nothing half-written


def test_applying_makes_a_synthetic_version_with_the_approved_images_and_is_idempotent(generated, curator):
    # Given 4 images of which 3 approved and 1 rejected
    images = images_of(generated)
    synthetic_images_review_bulk(
        batch=generated, decision="approved", user=curator, image_ids=[i.pk for i in images[:3]]
    )
    synthetic_image_review(image=images[3], decision="rejected", user=curator)
    base = generated.version

    # When the batch is applied (twice)
    version = synthetic_batch_apply(batch=generated, user=curator)
    again = synthetic_batch_apply(batch=generated, user=curator)

    # Then one new version: the base's members plus the 3 approved images in train, labelled by intent
    assert again.pk == version.pk and DatasetVersion.objects.filter(dataset=base.dataset).count() == 2
    assert (version.operation, version.parent_id, version.number) == (VersionOperation.SYNTHETIC, base.pk, 2)
    assert version.sample_count == base.sample_count + 3
    assert version.operation_params == {
        "synthetic_batch": generated.pk, "base_version": base.pk, "generator": "composite", "mode": "composite",
        "split": "train", "approved": 3, "added": 3, "already_members": 0, "rejected": 1, "pending": 0,
    }  # fmt: skip
    added = VersionSample.objects.filter(version=version, sample__source=SampleSource.SYNTHETIC).order_by("sample_id")
    assert sorted((m.sample_id, m.split, m.label, m.label_origin) for m in added) == sorted(
        (i.sample_id, "train", i.intended_class, LabelOrigin.MANUAL) for i in images[:3]
    )
    assert VersionSample.objects.filter(version=base).count() == base.sample_count  # the base is unchanged
    # And the applied batch takes no more reviews
    with pytest.raises(ApplicationError) as refused:
        synthetic_image_review(image=images[3], decision="approved", user=curator)
    assert (refused.value.code, refused.value.status_code) == ("batch_applied", 409)


def test_applying_with_nothing_approved_is_refused_and_makes_no_version(generated, curator):
    with pytest.raises(ApplicationError) as refused:
        synthetic_batch_apply(batch=generated, user=curator)

    assert refused.value.code == "nothing_approved"
    assert DatasetVersion.objects.filter(dataset=generated.version.dataset).count() == 1


def test_evaluation_sets_leave_synthetic_images_out_unless_asked(generated, curator):
    # Given a version whose train split holds 4 real and 4 approved synthetic images
    synthetic_images_review_bulk(batch=generated, decision="approved", user=curator)
    version = synthetic_batch_apply(batch=generated, user=curator)
    preprocessing = Preprocessing(img_size=16, mean=(0.5,) * 3, std=(0.5,) * 3)

    def load(**kwargs):
        return evaluation_set_load(version=version, split="train", classes=["cat", "dog"], preprocessing=preprocessing,
                                   **kwargs)  # fmt: skip

    default, included = load(), load(include_synthetic=True)

    synthetic_ids = {i.sample_id for i in images_of(generated)}
    assert len(default) == 4 and default.synthetic_excluded == 4
    assert not set(default.sample_ids.tolist()) & synthetic_ids
    assert len(included) == 8 and included.synthetic_excluded == 0
    assert set(included.sample_ids.tolist()) >= synthetic_ids
    assert np.array_equal(np.sort(default.targets), np.array([0, 0, 1, 1]))


def test_evaluation_params_state_that_synthetic_images_are_excluded_by_default():
    from robustness.evaluation.services.params import evaluation_params_validate

    _, params = evaluation_params_validate(suites=["clean"], params={}, image_size=32)
    _, asked = evaluation_params_validate(suites=["clean"], params={"include_synthetic": True}, image_size=32)

    assert params["include_synthetic"] is False and asked["include_synthetic"] is True
    with pytest.raises(ApplicationError, match="include_synthetic must be true or false"):
        evaluation_params_validate(suites=["clean"], params={"include_synthetic": "yes"}, image_size=32)


def test_clip_flags_match_a_zero_shot_computed_by_hand(masked_version, curator, tmp_path):
    # Given a tiny random-init open_clip model saved to disk and a composite batch flagged by it
    import torch

    from curation.ml.encoders import create_encoder
    from curation.services.ingest import sample_image_open
    from tests.curation.ml.tiny_clip import TINY_ARCH, build_tiny_clip

    encoder_name = f"open_clip:{TINY_ARCH}:{build_tiny_clip(tmp_path).local_dir}"
    params = plan_params_validate(
        version_id=masked_version.version.pk, mode="composite", per_class=2, flag_encoder=encoder_name
    )
    batch = synthetic_batch_create(params=params, user=curator)

    # When the job runs
    job = job_execute(job_create(kind="synthetic_generate", params={"batch_id": batch.pk}, requested_by=curator).pk)

    # Then each image's flag is CLIP's zero-shot answer over the dataset's classes, computed here by hand
    assert job.status == JobStatus.SUCCEEDED, job.error
    encoder = create_encoder(encoder_name)
    texts = encoder.encode_texts(["a photo of a cat", "a photo of a dog"])
    images = images_of(batch)
    pixels = torch.stack([encoder.preprocess(sample_image_open(i.sample).convert("RGB")) for i in images])
    expected = torch.softmax(100.0 * encoder.encode_images(pixels) @ texts.T, dim=1).numpy()
    for image, row in zip(images, expected, strict=True):
        predicted = ["cat", "dog"][int(row.argmax())]
        assert image.flag["checker"] == f"clip:{encoder_name}" and image.flag["predicted"] == predicted
        assert image.flag["intended_score"] == round(float(row[["cat", "dog"].index(image.intended_class)]), 4)
        assert image.flagged == (predicted != image.intended_class)
    assert job.result["flagged"] == sum(i.flagged for i in images)
