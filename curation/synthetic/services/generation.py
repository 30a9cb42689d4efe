"""Running a batch's plan: one image per planned item, stored as a synthetic Sample with its record.

The job builds the generator first (missing weights fail the job within seconds with the message
that says how to provide them), then walks the plan in order. Items already realised by an earlier
attempt are skipped, so a retried job continues where the last one stopped; progress and the cancel
check come after every image. An item the generator refuses (an unusable mask, say) is recorded in
the batch's `skipped` with the reason. Identical bytes are stored once per dataset (content hash), so
two batches with the same plan and seed point at the same samples.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
from django.db import transaction
from PIL import Image

from core.storage import blob_read
from curation.ml.generators import GenerationRequest, Generator, WeightsUnavailable, create_generator
from curation.models import Sample, SampleSource
from curation.services.ingest import image_decode, mask_encode, sample_image_open, sample_ingest, samples_delete_for_job
from curation.synthetic.models import GenerationMode, SyntheticBatch, SyntheticImage
from jobs.models import Job
from jobs.runtime import JobFailed

Progress = Callable[[int, int, str], None]


def _generator_build(batch: SyntheticBatch) -> Generator:
    params = batch.params
    if batch.mode == GenerationMode.COMPOSITE:
        return create_generator("composite")
    try:
        return create_generator(
            batch.generator, scheduler=params["scheduler"], device=params["device"], precision=params["precision"]
        )
    except WeightsUnavailable as error:
        raise JobFailed(str(error)) from None
    except ValueError as error:
        raise JobFailed(f"cannot build generator {batch.generator!r}: {error}") from None


def _mask_array(sample: Sample, size: tuple[int, int]) -> np.ndarray | None:
    if not sample.mask_key:
        return None
    mask: Image.Image = Image.open(io.BytesIO(blob_read(sample.mask_key)))
    mask.load()
    if mask.size != size:
        mask = mask.resize(size, Image.Resampling.NEAREST)
    return np.asarray(mask.convert("L")) > 127


class _Backgrounds:
    """The demo bank's backgrounds by id, loaded on first use."""

    def __init__(self) -> None:
        self._by_id: dict[str, np.ndarray] | None = None

    def get(self, background_id: str) -> np.ndarray:
        if self._by_id is None:
            from robustness.evaluation.services.backgrounds import demo_background_bank  # noqa: PLC0415 - torch: loaded on first use, not at start-up

            bank = demo_background_bank()
            self._by_id = dict(zip(bank.ids, bank.images, strict=True))
        if background_id not in self._by_id:
            raise ValueError(f"background {background_id!r} is not in this machine's demo bank")
        return self._by_id[background_id]


def _request(item: dict[str, Any], batch: SyntheticBatch, backgrounds: _Backgrounds) -> GenerationRequest:
    params = batch.params
    image = mask = background = None
    if item["parent_sample"] is not None:
        parent = Sample.objects.get(pk=item["parent_sample"])
        pixels = sample_image_open(parent).convert("RGB")
        image = np.asarray(pixels)
        mask = _mask_array(parent, pixels.size)
    if item["background"]:
        background = backgrounds.get(item["background"])
    return GenerationRequest(
        mode=item["mode"], prompt=item["prompt"], negative_prompt=item["negative_prompt"], seed=item["seed"],
        steps=params["steps"], guidance=params["guidance"], strength=item["strength"], width=params["width"],
        height=params["height"], image=image, object_mask=mask, background=background,
    )  # fmt: skip


def _record(item: dict[str, Any], batch: SyntheticBatch, generator: Generator, warnings: list[str]) -> dict[str, Any]:
    diffusion = item["mode"] != GenerationMode.COMPOSITE
    return {
        "batch": batch.pk,
        "position": item["position"],
        "mode": item["mode"],
        "model": generator.spec.name,
        "generator": generator.spec.to_dict(),
        "intended_class": item["class"],
        "prompt": item["prompt"],
        "negative_prompt": item["negative_prompt"],
        "seed": item["seed"],
        "steps": batch.params["steps"] if diffusion else None,
        "guidance": batch.params["guidance"] if diffusion else None,
        "strength": item["strength"],
        "parent_sample": item["parent_sample"],
        "background": item["background"],
        "warnings": warnings,
    }


def _store(item: dict[str, Any], batch: SyntheticBatch, generator: Generator, request: GenerationRequest, job_id: int):
    output = generator.generate(request)
    buffer = io.BytesIO()
    output.image.save(buffer, format="PNG")
    data = buffer.getvalue()
    mask_png = None
    if request.object_mask is not None and item["mode"] in (GenerationMode.COMPOSITE, GenerationMode.INPAINT):
        mask = Image.fromarray(request.object_mask.astype(np.uint8) * 255, mode="L")
        mask_png = mask_encode(mask.resize(output.image.size, Image.Resampling.NEAREST), size=output.image.size)
    record = _record(item, batch, generator, output.warnings)
    record["prompt_used"] = output.prompt_used
    with transaction.atomic():
        ingested = sample_ingest(
            dataset=batch.version.dataset, data=data, decoded=image_decode(data),
            original_name=f"synthetic/batch-{batch.pk}/{item['position']:05d}-{item['class']}.png",
            mask_png=mask_png, caption=output.prompt_used or item["prompt"], provenance={"synthetic": record},
            source=SampleSource.SYNTHETIC, job_id=job_id,
        )  # fmt: skip
        SyntheticImage.objects.create(
            batch=batch, position=item["position"], sample=ingested.sample, intended_class=item["class"],
            mode=item["mode"], model=generator.spec.name, prompt=output.prompt_used or item["prompt"],
            negative_prompt=item["negative_prompt"], seed=item["seed"], steps=record["steps"],
            guidance=record["guidance"], strength=item["strength"], parent_sample_id=item["parent_sample"],
            background=item["background"], warnings=output.warnings,
        )  # fmt: skip


def synthetic_batch_generate(*, batch: SyntheticBatch, job: Job, progress: Progress, log: Callable[[str], None]):
    """Make every planned image not made yet; returns the counts for the job's result."""
    SyntheticBatch.objects.filter(pk=batch.pk).update(job=job)
    generator = _generator_build(batch)
    SyntheticBatch.objects.filter(pk=batch.pk).update(generator_spec=generator.spec.to_dict())
    log(f"generator {generator.spec.name} on {generator.spec.device} ({generator.spec.dtype})")
    done = set(batch.images.values_list("position", flat=True))
    backgrounds, skipped, warned = _Backgrounds(), list(batch.skipped), 0
    total = len(batch.plan)
    progress(len(done), total, "generating")
    for item in batch.plan:
        if item["position"] in done:
            continue
        try:
            request = _request(item, batch, backgrounds)
            _store(item, batch, generator, request, job.pk)
        except ValueError as error:
            skipped.append({"class": item["class"], "position": item["position"], "reason": str(error)})
            log(f"item {item['position']} skipped: {error}")
        done.add(item["position"])
        progress(len(done), total, f"{len(done)} of {total} images")
    SyntheticBatch.objects.filter(pk=batch.pk).update(skipped=skipped)
    warned = batch.images.exclude(warnings=[]).count()
    return {"images": batch.images.count(), "skipped": len(skipped), "warnings": warned}


def synthetic_job_cleanup(job: Job) -> None:
    """Undo a failed or cancelled generation: its images of unapplied batches and the samples it stored."""
    SyntheticImage.objects.filter(batch__job=job, batch__applied_version__isnull=True, sample__import_job=job).delete()
    samples_delete_for_job(job_id=job.pk)
