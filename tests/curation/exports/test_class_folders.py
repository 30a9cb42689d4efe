"""Class folders of the ImageFolder layout stay short enough for any file system, and distinct."""

import json
from pathlib import Path

import pytest

from curation.exports.services.layout import CLASS_FOLDER_MAX_BYTES, ExportLayout
from curation.models import LabelOrigin
from jobs.models import JobStatus
from tests.curation.exports.builders import export_zip, run_export, stored_bytes
from tests.curation.test_import_helpers import members_by_name, run_import
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db

# 200 characters each (the longest label a row holds), 400 bytes of UTF-8, equal for their first 199
LONG_A = "é" * 199 + "a"
LONG_B = "é" * 199 + "b"


def test_a_long_label_becomes_a_capped_folder_name_distinct_from_its_neighbours(curator):
    layout = ExportLayout(DatasetVersionFactory(dataset=DatasetFactory(name="long")))

    folders = [layout.class_folder(label) for label in (LONG_A, LONG_B, "cat", "." + "x" * 300)]

    assert [len(folder.encode()) <= CLASS_FOLDER_MAX_BYTES for folder in folders] == [True] * 4
    assert len(set(folders)) == 4
    assert folders[2] == "cat"
    assert folders[0][:-9] == folders[1][:-9] and folders[0][-9] == "~"
    assert folders[3].startswith("_xxx")
    assert ExportLayout(DatasetVersionFactory(dataset=DatasetFactory(name="again"))).class_folder(LONG_A) == folders[0]


def test_an_export_with_long_labels_zips_and_imports_back_with_the_labels(curator, tmp_path: Path):
    # given a version whose members carry 200-character labels
    dataset = DatasetFactory(name="long labels", classes=[LONG_A, LONG_B])
    version = DatasetVersionFactory(dataset=dataset, number=1, sample_count=2, created_by=curator)
    for label in (LONG_A, LONG_B):
        sample = SampleFactory(dataset=dataset)
        VersionSampleFactory(
            version=version, sample=sample, split="train", label=label,
            labels=[{"label": label, "origin": LabelOrigin.IMPORT}],
        )  # fmt: skip
    # when exported as an ImageFolder zip
    export, job = run_export(version, "imagefolder-zip", user=curator)
    # then every member lies in a short class folder of its own, and the manifest keeps the labels
    assert job.status == JobStatus.SUCCEEDED, job.error
    with export_zip(export, "imagefolder.zip") as archive:
        rows = [json.loads(line) for line in archive.read("manifest.jsonl").decode().splitlines()]
    folders = {row["label"]: row["path"].split("/")[1] for row in rows}
    assert sorted(folders) == sorted([LONG_A, LONG_B])
    assert len(set(folders.values())) == 2
    assert max(len(folder.encode()) for folder in folders.values()) <= CLASS_FOLDER_MAX_BYTES
    # and the zip imports back with the true labels
    (key,) = [item["key"] for item in export.files if item["name"] == "imagefolder.zip"]
    (tmp_path / "export.zip").write_bytes(stored_bytes(key))
    again = run_import({"source": str(tmp_path / "export.zip"), "name": "long labels again"})
    assert again.status == JobStatus.SUCCEEDED, again.error
    assert sorted(label for _, label, _ in members_by_name(again.result["version"]).values()) == [LONG_A, LONG_B]
