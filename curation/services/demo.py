"""Store the demo dataset in Winnow: one dataset, version 1, its samples and the ground truth.

Choices made:
- The whole build is one transaction: a failure leaves no dataset, version or sample rows, and
  the blobs written for them (content-addressed, unreferenced) are deleted again.
- Exact duplicates are ingested like any file, so `sample_ingest` stores them once and records
  the extra file name as an alias; the truth lists both names with the same sha256.
- The version carries each sample's split, its given label (the noisy one where label noise was
  injected: that is the point) and a multi-label set holding every object's class for
  multi-object images, all with origin "demo".
- The truth document is saved through the storage API at `demo/<slug>-truth.json` (its key goes
  into the version's operation_params) and, when asked, also written to a local path.
- Object and background folders come from WINNOW_DEMO_STAMPS_DIR / WINNOW_DEMO_BACKGROUNDS_DIR
  (default: the Debian packages' folders); without them the pip fallback is used and said so.
"""

import hashlib
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from core.api_errors import ApplicationError
from core.storage import blob_save
from curation.demo.build import DemoFile, ProgressCallback, demo_files
from curation.demo.plan import DemoConfig, DemoPlan, demo_plan
from curation.demo.sources import OBJECT_SOURCE_FALLBACK, DemoSources, demo_sources_load
from curation.demo.truth import truth_document, truth_dumps
from curation.models import Dataset, DatasetVersion, LabelOrigin, Sample, VersionOperation, VersionSample
from curation.selectors import version_latest
from curation.services.blob_claims import blobs_collect
from curation.services.ingest import sample_ingest

BATCH_SIZE = 100
GENERATOR = "winnow-demo"


@dataclass(frozen=True)
class DemoDatasetResult:
    """What a build did. `created` is False when --if-missing found the dataset already there."""

    dataset: Dataset
    version: DatasetVersion | None
    created: bool
    files: int = 0
    samples: int = 0
    exact_duplicate_aliases: int = 0
    object_source: str = ""
    truth_key: str = ""
    truth_path: str = ""
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def demo_source_dirs() -> tuple[Path | None, Path | None]:
    """(stamps folder, backgrounds folder) from WINNOW_DEMO_STAMPS_DIR / WINNOW_DEMO_BACKGROUNDS_DIR."""
    stamps, backgrounds = os.environ.get("WINNOW_DEMO_STAMPS_DIR"), os.environ.get("WINNOW_DEMO_BACKGROUNDS_DIR")
    return (Path(stamps) if stamps else None, Path(backgrounds) if backgrounds else None)


def demo_truth_key(name: str) -> str:
    """`demo/<slug>-truth.json`, unless another dataset's truth already has that key (names that
    slugify alike): then the slug carries a short hash of the name."""
    key = f"demo/{slugify(name) or 'dataset'}-truth.json"
    if DatasetVersion.objects.filter(operation_params__truth_key=key).exclude(dataset__name=name).exists():
        key = f"demo/{slugify(name) or 'dataset'}-{hashlib.sha256(name.encode()).hexdigest()[:8]}-truth.json"
    return key


def demo_dataset_build(
    *,
    config: DemoConfig | None = None,
    name: str | None = None,
    truth_path: Path | None = None,
    if_missing: bool = False,
    progress: ProgressCallback | None = None,
    created_by_id: int | None = None,
    job_id: int | None = None,
) -> DemoDatasetResult:
    """Build the demo dataset (docs/ARCHITECTURE.md §6) and its ground truth.

    Args:
        config: seed, size and rates (default DemoConfig(): seed 0, 1,500 files).
        name: dataset name (default settings.DEMO_DATASET_NAME).
        truth_path: also write the truth JSON to this local file (default: storage only).
        if_missing: when a dataset with this name exists, do nothing (else that is an error).
        progress: called as progress(done, total, message) after each batch of files.
        created_by_id: the user recorded as the dataset's owner and the version's author.
        job_id: the job the samples are ingested under, if any.
    """
    started = time.monotonic()
    config = config or DemoConfig()
    name = name or settings.DEMO_DATASET_NAME
    existing = Dataset.objects.filter(name=name).first()
    if existing is not None:
        if if_missing:
            return DemoDatasetResult(dataset=existing, version=version_latest(existing), created=False)
        message = f"a dataset named {name!r} already exists (use another name, or --if-missing)"
        raise ApplicationError(message, code="exists", status_code=409)
    stamps_dir, backgrounds_dir = demo_source_dirs()
    sources = demo_sources_load(stamps_dir=stamps_dir, backgrounds_dir=backgrounds_dir)
    try:
        plan = demo_plan(config, sources)
    except ValueError as exc:
        raise ApplicationError(str(exc))
    result = _DemoRun(plan, sources, name, created_by_id, job_id, progress).run(truth_path)
    return replace(result, seconds=round(time.monotonic() - started, 2))


def _description(plan: DemoPlan, sources: DemoSources, truth_key: str) -> str:
    config = plan.config
    objects = "Tux Paint photo stamps"
    if sources.object_source == OBJECT_SOURCE_FALLBACK:
        objects = "objects cut out of photos that scikit-image and scikit-learn ship (tuxpaint stamps were unavailable)"
    return (
        f"Demo dataset and ground-truth benchmark, generated (seed {config.seed}): {config.size} composites of "
        f"{objects} on background photos and textures, {len(plan.classes)} classes. Injected effects: each class "
        f"sits on its own background in {config.own_background_rate:.0%} of train (shuffled in val/test), exact and "
        f"near duplicates, {config.label_noise_rate:.0%} label noise in train, multi-object images. Every effect is "
        f"recorded in {truth_key}. Object source: {sources.object_source}."
    )


def _operation_params(plan: DemoPlan, sources: DemoSources, truth_key: str) -> dict[str, Any]:
    return {
        **plan.config.as_dict(),
        "generator": GENERATOR,
        "source": sources.object_source,
        "background_sources": sources.background_sources,
        "classes": plan.classes,
        "class_backgrounds": plan.class_backgrounds,
        "truth_key": truth_key,
        "notes": sources.notes,
    }


def _labels(record: dict[str, Any]) -> list[dict[str, str]]:
    names = [record["label"], *(label for label in record["true_labels"][1:] if label != record["label"])]
    return [{"label": label, "origin": LabelOrigin.DEMO} for label in names]


def _provenance(record: dict[str, Any], plan: DemoPlan, sources: DemoSources) -> dict[str, Any]:
    return {
        "generator": GENERATOR,
        "seed": plan.config.seed,
        "source": sources.object_source,
        "object_stamps": [entry["stamp"] for entry in record["objects"]],
        "background": record["background"],
        "original_path": record["file_name"],
    }


class _DemoRun:
    """One build: the rows and blobs it wrote so far, so a failure can take the blobs back."""

    def __init__(
        self,
        plan: DemoPlan,
        sources: DemoSources,
        name: str,
        created_by_id: int | None,
        job_id: int | None,
        progress: ProgressCallback | None,
    ):
        self.plan, self.sources, self.name = plan, sources, name
        self.created_by_id, self.job_id, self.progress = created_by_id, job_id, progress
        self.truth_key = demo_truth_key(name)
        self.written_keys: list[str] = []

    def run(self, truth_path: Path | None) -> DemoDatasetResult:
        try:
            with transaction.atomic():
                return self._build(truth_path)
        except IntegrityError:
            self._discard_blobs()
            if not Dataset.objects.filter(name=self.name).exists():
                raise
            message = f"a dataset named {self.name!r} was created meanwhile"
            raise ApplicationError(message, code="exists", status_code=409)
        except BaseException:
            self._discard_blobs()
            raise

    def _build(self, truth_path: Path | None) -> DemoDatasetResult:
        dataset = Dataset.objects.create(
            name=self.name,
            description=_description(self.plan, self.sources, self.truth_key),
            owner_id=self.created_by_id,
            classes=self.plan.classes,
        )
        version = DatasetVersion.objects.create(
            dataset=dataset,
            number=1,
            operation=VersionOperation.DEMO,
            operation_params=_operation_params(self.plan, self.sources, self.truth_key),
            created_by_id=self.created_by_id,
            job_id=self.job_id,
        )
        records = self._ingest_all(dataset, version)
        self._truth_save(truth_document(self.plan, self.sources, records), truth_path)
        return DemoDatasetResult(
            dataset=dataset,
            version=version,
            created=True,
            files=len(records),
            samples=version.sample_count,
            exact_duplicate_aliases=len(records) - version.sample_count,
            object_source=self.sources.object_source,
            truth_key=self.truth_key,
            truth_path=str(truth_path or ""),
            notes=self.sources.notes,
        )

    def _ingest_all(self, dataset: Dataset, version: DatasetVersion) -> list[dict[str, Any]]:
        total, records, members = len(self.plan.images), [], []
        for file in demo_files(self.plan, self.sources):
            member = self._ingest(dataset, version, file)
            records.append(file.record)
            members += [member] if member else []
            if len(records) % BATCH_SIZE == 0 or len(records) == total:
                VersionSample.objects.bulk_create(members)
                version.sample_count += len(members)
                members = []
                if self.progress:
                    self.progress(len(records), total, f"{len(records)} of {total} demo images stored")
        version.save(update_fields=["sample_count"])
        return records

    def _ingest(self, dataset: Dataset, version: DatasetVersion, file: DemoFile) -> VersionSample | None:
        record = file.record
        result = sample_ingest(
            dataset=dataset,
            data=file.data,
            original_name=file.file_name,
            mask_png=file.mask_png,
            caption=record["caption"],
            provenance=_provenance(record, self.plan, self.sources),
            job_id=self.job_id,
        )
        if not result.created:
            return None
        self._remember_blobs(result.sample)
        return VersionSample(
            version=version,
            sample=result.sample,
            split=record["split"],
            label=record["label"],
            label_origin=LabelOrigin.DEMO,
            labels=_labels(record),
        )

    def _remember_blobs(self, sample: Sample) -> None:
        self.written_keys += [k for k in (sample.image_key, sample.thumbnail_key, sample.mask_key) if k]

    def _truth_save(self, document: dict[str, Any], truth_path: Path | None) -> None:
        data = truth_dumps(document)
        blob_save(key=self.truth_key, data=data, replace=True)  # one PUT on object storage, atomic on local disk
        self.written_keys.append(self.truth_key)
        if truth_path is not None:
            truth_path.parent.mkdir(parents=True, exist_ok=True)
            truth_path.write_bytes(data)

    def _discard_blobs(self) -> None:
        """After a rollback: delete what this build wrote unless another sample or a writer's claim needs it."""
        blobs_collect(self.written_keys)
