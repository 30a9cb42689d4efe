"""Builders shared by the export tests: a small version with every kind of member, and a job run.

Nothing here is a test; the export test modules import these helpers.
"""

import io
import zipfile
from pathlib import Path
from typing import Any

from django.core.files.storage import default_storage

from curation.exports.models import Export
from curation.exports.services.exports import export_create_inline
from curation.models import DatasetVersion, LabelOrigin
from jobs.models import Job
from jobs.services import job_execute
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory

# (split, primary label, extra labels with their origins, has a mask)
PET_MEMBERS = [
    ("train", "cat", [], True),
    ("train", "cat", [("dog", LabelOrigin.MODEL)], False),
    ("train", "dog", [], False),
    ("val", "dog", [("cat", LabelOrigin.CONSENSUS)], False),
    ("val", "cat", [], False),
    ("test", "bird/eagle", [], False),
    ("test", "dog", [], False),
    ("unassigned", "cat", [], False),
]


def pets_version(*, created_by: Any = None, name: str = "pets") -> DatasetVersion:
    """Version 1 of dataset `name`: 8 members over every split, a multi-label pair, a mask, a label with '/'."""
    dataset = DatasetFactory(name=name, classes=["cat", "dog", "bird/eagle"])
    version = DatasetVersionFactory(dataset=dataset, number=1, sample_count=len(PET_MEMBERS), created_by=created_by)
    for split, label, extras, has_mask in PET_MEMBERS:
        sample = SampleFactory(dataset=dataset, mask_box=(2, 2, 10, 10) if has_mask else None)
        sample.provenance = {"original_path": f"{label}/{sample.original_name}"}
        sample.save(update_fields=["provenance"])
        labels = [{"label": label, "origin": LabelOrigin.IMPORT}] + [{"label": n, "origin": o} for n, o in extras]
        VersionSampleFactory(version=version, sample=sample, split=split, label=label, labels=labels)
    return version


def run_export(version: DatasetVersion, format: str, *, user: Any = None, **options: Any) -> tuple[Export, Job]:
    """Create an export of `version` and run its job in this process; returns both as stored afterwards."""
    export = export_create_inline(version=version, format=format, options=options, requested_by=user)
    assert export.job_id is not None
    job = job_execute(export.job_id)
    export.refresh_from_db()
    return export, job


def stored_bytes(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def export_file_bytes(export: Export, name: str) -> bytes:
    (key,) = [item["key"] for item in export.files if item["name"] == name]
    return stored_bytes(key)


def export_zip(export: Export, name: str) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(export_file_bytes(export, name)))


def extract(export: Export, name: str, folder: Path) -> Path:
    with export_zip(export, name) as archive:
        archive.extractall(folder)
    return folder


def stored_export_files(export_id: int) -> list[str]:
    folder = f"exports/{export_id}"
    try:
        return sorted(default_storage.listdir(folder)[1])
    except FileNotFoundError:
        return []
