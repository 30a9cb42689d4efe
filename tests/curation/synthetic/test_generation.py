"""Generation plans and jobs: what is planned, what each image records, skips with reasons, failures."""

import numpy as np
import pytest

from core.api_errors import ApplicationError
from curation.models import Sample, SampleSource
from curation.services.ingest import sample_image_open
from curation.synthetic.models import SyntheticBatch, SyntheticImage
from curation.synthetic.services.plans import plan_params_validate, synthetic_batch_create
from jobs.models import Job, JobStatus
from jobs.services import job_create, job_execute
from robustness.evaluation.services.backgrounds import demo_background_bank
from tests.curation.synthetic.conftest import MASK_BOX, small_version

pytestmark = pytest.mark.django_db


def run_batch(batch: SyntheticBatch, user) -> Job:
    job = job_create(kind="synthetic_generate", params={"batch_id": batch.pk}, requested_by=user)
    return job_execute(job.pk)


def test_composite_plan_pastes_each_masked_object_onto_backgrounds_off_its_avoid_list(masked_version, curator):
    # Given a version with masked train samples, and an avoid list for cat naming two bank backgrounds
    bank = demo_background_bank()
    avoid = {"cat": bank.ids[:2]}
    params = plan_params_validate(version_id=masked_version.version.pk, mode="composite", per_class=3, avoid=avoid)

    # When the batch is planned and its job runs
    batch = synthetic_batch_create(params=params, user=curator)
    job = run_batch(batch, curator)

    # Then every planned image exists, from a masked parent of its class, on a background it may use
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result == {"batch": batch.pk, "version": masked_version.version.pk, "images": 6, "skipped": 0,
                          "warnings": 0}  # fmt: skip
    images = list(SyntheticImage.objects.filter(batch=batch).select_related("sample", "parent_sample"))
    assert [(i.position, i.intended_class) for i in images] == [(p, "cat" if p < 3 else "dog") for p in range(6)]
    parents = {cls: {s.pk for s in samples} for cls, samples in masked_version.samples.items()}
    for image in images:
        assert image.parent_sample_id in parents[image.intended_class]
        assert image.background in bank.ids
        assert image.seed == image.position  # seed 0 + position
        assert image.sample.source == SampleSource.SYNTHETIC and image.sample.mask_key
        record = image.sample.provenance["synthetic"]
        assert record["model"] == "composite" and record["parent_sample"] == image.parent_sample_id
        assert record["background"] == image.background and record["intended_class"] == image.intended_class
        assert image.sample.memberships.count() == 0  # in no version until the batch is applied
    assert not {i.background for i in images if i.intended_class == "cat"} & set(avoid["cat"])
    # The object's pixels are the parent's: inside the mask box, result == parent.
    first = images[0]
    left, top, right, bottom = MASK_BOX
    result = np.asarray(sample_image_open(first.sample).convert("RGB"))[top:bottom, left:right]
    parent = np.asarray(sample_image_open(first.parent_sample).convert("RGB"))[top:bottom, left:right]
    assert np.array_equal(result, parent)


def test_text2img_job_records_model_prompts_seed_steps_guidance(curator, masked_version, tiny_generator_name):
    params = plan_params_validate(
        version_id=masked_version.version.pk, mode="text2img", generator=tiny_generator_name, per_class=2,
        steps=2, guidance=5.0, seed=10, negative_prompt="blurry", contexts=["on grass", "on sand", "in snow"],
        avoid={"cat": ["grass"]}, device="cpu",
    )  # fmt: skip
    batch = synthetic_batch_create(params=params, user=curator)

    job = run_batch(batch, curator)

    assert job.status == JobStatus.SUCCEEDED, job.error
    rows = list(
        SyntheticImage.objects.filter(batch=batch).values_list(
            "intended_class", "prompt", "negative_prompt", "seed", "steps", "guidance", "strength", "parent_sample",
            "model",
        )
    )  # fmt: skip
    assert rows == [
        ("cat", "a photo of a cat on sand", "blurry", 10, 2, 5.0, None, None, tiny_generator_name),
        ("cat", "a photo of a cat in snow", "blurry", 11, 2, 5.0, None, None, tiny_generator_name),
        ("dog", "a photo of a dog on grass", "blurry", 12, 2, 5.0, None, None, tiny_generator_name),
        ("dog", "a photo of a dog on sand", "blurry", 13, 2, 5.0, None, None, tiny_generator_name),
    ]
    batch.refresh_from_db()
    assert batch.generator_spec["family"] == "diffusers" and batch.generator_spec["device"] == "cpu"
    sample = SyntheticImage.objects.filter(batch=batch).first().sample
    assert (sample.width, sample.height) == (32, 32) and sample.caption == "a photo of a cat on sand"
    assert sample.provenance["synthetic"]["generator"]["weights"] == tiny_generator_name.removeprefix("diffusers:")


def test_img2img_job_records_parent_and_stated_strength(curator, masked_version, tiny_generator_name):
    params = plan_params_validate(
        version_id=masked_version.version.pk, mode="img2img", generator=tiny_generator_name, per_class=1,
        steps=5, strength=0.4, classes=["dog"], device="cpu",
    )  # fmt: skip
    batch = synthetic_batch_create(params=params, user=curator)

    job = run_batch(batch, curator)

    assert job.status == JobStatus.SUCCEEDED, job.error
    image = SyntheticImage.objects.get(batch=batch)
    assert image.strength == 0.4 and image.intended_class == "dog"
    assert image.parent_sample_id in {s.pk for s in masked_version.samples["dog"]}
    assert image.sample.provenance["synthetic"]["strength"] == 0.4


def test_inpaint_plan_skips_samples_without_masks_with_the_reason(curator, db, tiny_generator_name):
    # Given cat samples with masks and dog samples without
    version = small_version(masked=True)
    dataset = version.version.dataset
    from tests.factories import SampleFactory, VersionSampleFactory

    unmasked = [SampleFactory(dataset=dataset) for _ in range(2)]
    for sample in unmasked:
        VersionSampleFactory(version=version.version, sample=sample, label="bird", split="train")
    dataset.classes = ["cat", "dog", "bird"]
    dataset.save()
    params = plan_params_validate(
        version_id=version.version.pk, mode="inpaint", generator=tiny_generator_name, per_class=2, steps=2,
        device="cpu",
    )  # fmt: skip

    # When the batch is planned and run
    batch = synthetic_batch_create(params=params, user=curator)
    job = run_batch(batch, curator)

    # Then bird is skipped (each unmasked sample, then the class), cat and dog are inpainted
    bird_skips = [(s.get("sample", 0), s["reason"]) for s in batch.skipped if s["class"] == "bird"]
    assert sorted(bird_skips) == sorted(
        [(unmasked[0].pk, "no object mask"), (unmasked[1].pk, "no object mask"),
         (0, "no sample with an object mask in split train; 2 not planned")]
    )  # fmt: skip
    assert job.status == JobStatus.SUCCEEDED, job.error
    images = SyntheticImage.objects.filter(batch=batch)
    assert sorted(images.values_list("intended_class", flat=True)) == ["cat", "cat", "dog", "dog"]
    assert set(images.values_list("strength", flat=True)) == {1.0}
    assert all(i.sample.mask_key for i in images)


def test_an_inpainting_plan_on_a_version_without_any_mask_is_refused_and_nothing_is_stored(
    curator, unmasked_version, tiny_generator_name
):
    params = plan_params_validate(
        version_id=unmasked_version.version.pk, mode="inpaint", generator=tiny_generator_name, per_class=2
    )

    with pytest.raises(ApplicationError) as refused:
        synthetic_batch_create(params=params, user=curator)

    assert refused.value.code == "empty_plan"
    assert "cat: no sample with an object mask in split train; 2 not planned" in refused.value.message
    assert SyntheticBatch.objects.count() == 0


def test_two_jobs_with_the_same_seed_make_identical_images(curator, masked_version, tiny_generator_name):
    def batch_images(seed: int) -> list[str]:
        params = plan_params_validate(
            version_id=masked_version.version.pk, mode="text2img", generator=tiny_generator_name, per_class=1,
            steps=2, seed=seed, device="cpu",
        )  # fmt: skip
        batch = synthetic_batch_create(params=params, user=curator)
        assert run_batch(batch, curator).status == JobStatus.SUCCEEDED
        return [i.sample.sha256 for i in SyntheticImage.objects.filter(batch=batch).select_related("sample")]

    first, second, other = batch_images(3), batch_images(3), batch_images(4)

    assert first == second and len(first) == 2
    assert not set(first) & set(other)
    assert np.asarray(sample_image_open(Sample.objects.get(sha256=first[0]))).shape == (32, 32, 3)


def test_an_unknown_model_offline_fails_the_job_fast_and_leaves_nothing(curator, masked_version, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    params = plan_params_validate(
        version_id=masked_version.version.pk, mode="text2img", generator="diffusers:nobody/no-such-pipeline"
    )
    batch = synthetic_batch_create(params=params, user=curator)
    samples_before = Sample.objects.count()

    job = run_batch(batch, curator)

    assert job.status == JobStatus.FAILED
    assert "'nobody/no-such-pipeline' is not in the hub cache" in job.error and "HF_HUB_OFFLINE is set" in job.error
    assert (job.finished_at - job.started_at).total_seconds() < 5
    assert SyntheticImage.objects.count() == 0 and Sample.objects.count() == samples_before


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"mode": "text2img"}, "generator", "text2img needs a diffusers generator"),
        ({"mode": "composite", "generator": "diffusers:x"}, "generator", "composite plans use the composite generator"),
        ({"mode": "composite", "strength": 0.5}, "strength", "strength applies to img2img and inpaint only."),
        ({"mode": "img2img", "generator": "diffusers:x", "strength": 1.5}, "strength", "strength must lie in (0, 1],"),
        ({"mode": "composite", "per_class": 0}, "per_class", "per_class must lie in [1, 1000], got 0."),
        (
            {"mode": "img2img", "generator": "diffusers:x", "steps": 2, "strength": 0.4},
            "steps",
            "= 0.8 denoising steps",
        ),
        (
            {"mode": "text2img", "generator": "diffusers:x", "prompt_template": "a {context}"},
            "prompt_template",
            "must contain {cls}",
        ),
        ({"mode": "text2img", "generator": "diffusers:x", "contexts": ["  "]}, "contexts", "must not be empty"),
        ({"mode": "composite", "flag_model": 1, "flag_encoder": "open_clip:x:y"}, "flag_encoder", "Pick one checker"),
        ({"mode": "composite", "seed": "x"}, "seed", "seed must be an integer"),
        ({"mode": "composite", "avoid": ["cat"]}, "avoid", "avoid must be an object"),
        ({"mode": "sketch"}, "mode", "mode must be one of"),
        ({"mode": "composite", "colour": "red"}, "colour", "Unknown parameter(s): colour."),
    ],
)
def test_invalid_plan_parameters_are_refused_with_the_reason_and_the_field(raw, field, message):
    with pytest.raises(ApplicationError) as refused:
        plan_params_validate(version_id=1, **raw)

    assert refused.value.code == "invalid_params" and message in refused.value.message
    assert refused.value.details == {"field": field}


def test_the_modes_defaults_are_declared_and_a_given_value_wins():
    assert plan_params_validate(version_id=1, mode="img2img", generator="diffusers:x").strength == 0.6
    assert plan_params_validate(version_id=1, mode="inpaint", generator="diffusers:x").strength == 1.0
    assert plan_params_validate(version_id=1, mode="inpaint", generator="diffusers:x", strength=0.3).strength == 0.3
    assert plan_params_validate(version_id=1, mode="text2img", generator="diffusers:x").strength is None
    composite = plan_params_validate(version_id=1, mode="composite", generator="")
    assert (composite.generator, composite.strength) == ("composite", None)


def test_a_cancelled_generation_leaves_no_image_and_no_sample(curator, masked_version):
    # Given a composite batch of 4 images, and a cancel requested once the first image is stored
    params = plan_params_validate(version_id=masked_version.version.pk, mode="composite", per_class=2)
    batch = synthetic_batch_create(params=params, user=curator)
    job = job_create(kind="synthetic_generate", params={"batch_id": batch.pk}, requested_by=curator)
    samples_before = Sample.objects.count()

    stored_when_cancelled: list[int] = []

    def cancel_after_first(done: int, total: int, message: str) -> None:
        if done == 1 and not stored_when_cancelled:
            stored_when_cancelled.append(SyntheticImage.objects.filter(batch=batch).count())
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)

    # When the job runs
    job = job_execute(job.pk, progress_callback=cancel_after_first)

    # Then it stopped and its cleanup removed what it had stored
    assert job.status == JobStatus.CANCELLED
    assert stored_when_cancelled == [1]  # it had stored an image when the cancel came
    assert SyntheticImage.objects.filter(batch=batch).count() == 0
    assert Sample.objects.count() == samples_before
    assert not Sample.objects.filter(source=SampleSource.SYNTHETIC).exists()


def test_an_item_the_generator_refuses_is_skipped_with_the_reason_and_the_rest_is_made(curator, masked_version):
    # Given a plan whose second item names a background this machine's bank does not have
    params = plan_params_validate(version_id=masked_version.version.pk, mode="composite", per_class=1)
    batch = synthetic_batch_create(params=params, user=curator)
    batch.plan[1]["background"] = "nowhere:missing"
    batch.save(update_fields=["plan"])

    job = job_execute(job_create(kind="synthetic_generate", params={"batch_id": batch.pk}, requested_by=curator).pk)

    assert job.status == JobStatus.SUCCEEDED and job.result["images"] == 1 and job.result["skipped"] == 1
    batch.refresh_from_db()
    assert batch.skipped == [
        {"class": "dog", "position": 1, "reason": "background 'nowhere:missing' is not in this machine's demo bank"}
    ]
    assert list(SyntheticImage.objects.filter(batch=batch).values_list("position", flat=True)) == [0]
