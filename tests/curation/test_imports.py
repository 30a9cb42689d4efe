"""The import job's happy paths: folder, zip, CSV and JSONL sources, run inline on PostgreSQL."""

import gc
import json
from pathlib import Path

import pytest
from django.core.files.storage import default_storage

from core.storage import blob_read
from curation.models import Dataset, DatasetVersion, Sample, SampleAlias
from jobs.models import JobStatus
from tests.curation.test_import_helpers import (
    image_bytes,
    jpeg,
    members_by_name,
    report_statuses,
    run_import,
    source_folder,
    write_files,
    zip_file,
)

pytestmark = pytest.mark.django_db
NOT_AN_IMAGE = "not an image: the content is not a recognised image format"


def test_folder_with_splits_imports_every_image_with_its_split_and_label(tmp_path: Path, curator):
    # given an ImageFolder tree with train/valid/test levels
    folder = source_folder(tmp_path)
    write_files(
        folder,
        {
            "train/cat/a.jpg": jpeg(1),
            "train/dog/b.jpg": jpeg(2),
            "valid/cat/c.jpg": jpeg(3),
            "test/dog/d.jpg": jpeg(4),
        },
    )
    # when it is imported
    job = run_import({"source": str(folder), "name": "pets", "description": "four pets"}, user=curator)
    # then every file is a sample of version 1 with the split and label its folders say
    assert job.status == JobStatus.SUCCEEDED, job.error
    dataset = Dataset.objects.get(name="pets")
    version = DatasetVersion.objects.get(dataset=dataset)
    assert (dataset.pk, dataset.description, dataset.owner, dataset.classes) == (
        job.result["dataset"], "four pets", curator, ["cat", "dog"],
    )  # fmt: skip
    assert (version.pk, version.number, version.operation, version.sample_count) == (
        job.result["version"], 1, "import", 4,
    )  # fmt: skip
    assert (version.job_id, version.created_by, version.operation_params) == (
        job.pk, curator, {"source": str(folder), "format": "imagefolder"},
    )  # fmt: skip
    assert members_by_name(version.pk) == {
        "train/cat/a.jpg": ("train", "cat", ["cat"]),
        "train/dog/b.jpg": ("train", "dog", ["dog"]),
        "valid/cat/c.jpg": ("val", "cat", ["cat"]),
        "test/dog/d.jpg": ("test", "dog", ["dog"]),
    }
    assert {k: job.result[k] for k in ("imported", "rejected", "duplicates", "report")} == {
        "imported": 4, "rejected": 0, "duplicates": 0, "report": [],
    }  # fmt: skip


def test_folder_without_splits_leaves_samples_unassigned_and_records_labels_with_origin(tmp_path: Path):
    # given class folders only
    folder = source_folder(tmp_path)
    write_files(folder, {"cat/a.jpg": jpeg(1), "dog/b.jpg": jpeg(2)})
    # when imported
    job = run_import({"source": str(folder), "name": "flat", "format": "imagefolder"})
    # then the split is unassigned and labels carry the import origin
    assert job.status == JobStatus.SUCCEEDED, job.error
    version = DatasetVersion.objects.get(pk=job.result["version"])
    assert members_by_name(version.pk) == {
        "cat/a.jpg": ("unassigned", "cat", ["cat"]),
        "dog/b.jpg": ("unassigned", "dog", ["dog"]),
    }
    assert list(version.members.values_list("labels", "label_origin")) == [
        ([{"label": "cat", "origin": "import"}], "import"),
        ([{"label": "dog", "origin": "import"}], "import"),
    ]


def test_full_report_is_stored_as_jsonl_with_every_file(tmp_path: Path):
    # given two good files and a bad one
    folder = source_folder(tmp_path)
    write_files(folder, {"cat/a.jpg": jpeg(1), "cat/b.jpg": jpeg(2), "cat/c.jpg": b"not an image"})
    # when imported
    job = run_import({"source": str(folder), "name": "reported"})
    # then the inline report lists only the problem, the stored report every file
    assert job.result["report_key"] == f"reports/imports/job-{job.pk}.jsonl"
    lines = [json.loads(line) for line in blob_read(job.result["report_key"]).decode().splitlines()]
    assert lines == [
        {"file": "cat/a.jpg", "status": "imported", "reason": ""},
        {"file": "cat/b.jpg", "status": "imported", "reason": ""},
        {"file": "cat/c.jpg", "status": "rejected", "reason": NOT_AN_IMAGE},
    ]
    assert job.result["report"] == lines[2:]


def test_zip_with_one_wrapper_folder_is_imported_and_the_upload_deleted(tmp_path: Path):
    # given an uploaded zip whose layout sits in one top-level folder
    from curation.services.imports import import_upload_store

    archive = zip_file(tmp_path / "a.zip", {"pets/train/cat/a.jpg": jpeg(1), "pets/val/dog/b.jpg": jpeg(2)})
    with archive.open("rb") as handle:
        key = import_upload_store(upload=handle)
    # when imported
    job = run_import({"source": key, "name": "zipped", "format": "zip", "upload_name": "a.zip"})
    # then the wrapper is not part of the names, and the upload is gone
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert members_by_name(job.result["version"]) == {
        "train/cat/a.jpg": ("train", "cat", ["cat"]),
        "val/dog/b.jpg": ("val", "dog", ["dog"]),
    }
    assert DatasetVersion.objects.get(pk=job.result["version"]).operation_params == {
        "source": "a.zip", "format": "imagefolder",
    }  # fmt: skip
    assert default_storage.exists(key) is False


def test_zip_whose_top_folder_is_a_split_keeps_it_as_the_split(tmp_path: Path):
    # given a zip with only a train/ level (not a wrapper)
    archive = zip_file(tmp_path / "t.zip", {"train/cat/a.jpg": jpeg(1), "train/dog/b.jpg": jpeg(2)})
    # when imported (format auto-detected)
    job = run_import({"source": str(archive), "name": "train-only"})
    # then train is the split
    assert members_by_name(job.result["version"]) == {
        "train/cat/a.jpg": ("train", "cat", ["cat"]),
        "train/dog/b.jpg": ("train", "dog", ["dog"]),
    }


def test_csv_manifest_imports_labels_splits_captions_and_masks(tmp_path: Path):
    # given a CSV manifest next to its images, with multi-labels, a caption and a mask
    folder = source_folder(tmp_path)
    mask = image_bytes(255, size=(32, 24), mode="L", format="PNG")
    write_files(folder, {"img/a.jpg": jpeg(1), "img/b.jpg": jpeg(2), "masks/a.png": mask})
    (folder / "labels.csv").write_text(
        "path,label,labels,split,caption,mask\n"
        "img/a.jpg,cat,cat;indoor;,train,a cat on a sofa,masks/a.png\n"
        "img/b.jpg,dog,,validation,,\n"
    )
    # when the manifest is imported
    job = run_import({"source": str(folder / "labels.csv"), "name": "csv"})
    # then rows become samples with their labels, split, caption and encoded mask
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert members_by_name(job.result["version"]) == {
        "img/a.jpg": ("train", "cat", ["cat", "indoor"]),
        "img/b.jpg": ("val", "dog", ["dog"]),
    }
    a = Sample.objects.get(original_name="img/a.jpg")
    b = Sample.objects.get(original_name="img/b.jpg")
    assert (a.caption, a.provenance, b.caption, b.mask_key) == (
        "a cat on a sofa", {"original_path": "img/a.jpg", "manifest_line": 2}, "", "",
    )  # fmt: skip
    assert a.mask_key.startswith("masks/") and default_storage.exists(a.mask_key)
    assert Dataset.objects.get(name="csv").classes == ["cat", "dog", "indoor"]


def test_jsonl_manifest_imports_label_lists(tmp_path: Path):
    # given a JSONL manifest with label lists and a test split
    folder = source_folder(tmp_path)
    write_files(folder, {"a.jpg": jpeg(1), "b.jpg": jpeg(2)})
    (folder / "data.jsonl").write_text(
        '{"path": "a.jpg", "label": "cat", "labels": ["cat", "pet"], "split": "test"}\n'
        '{"path": "b.jpg", "labels": ["dog"]}\n'
    )
    # when imported with the format given
    job = run_import({"source": str(folder / "data.jsonl"), "name": "jsonl", "format": "jsonl"})
    # then the first label of a list is the primary label
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert members_by_name(job.result["version"]) == {
        "a.jpg": ("test", "cat", ["cat", "pet"]),
        "b.jpg": ("unassigned", "dog", ["dog"]),
    }
    assert job.result["imported"] == 2


def test_manifest_inside_a_zip_is_detected_and_its_paths_resolved_in_the_archive(tmp_path: Path):
    # given a zip with a wrapper folder holding a manifest and the images it lists
    archive = zip_file(
        tmp_path / "m.zip",
        {
            "ds/meta.jsonl": b'{"path": "x/a.jpg", "label": "cat"}\n{"path": "x/b.jpg", "label": "dog"}\n',
            "ds/x/a.jpg": jpeg(1),
            "ds/x/b.jpg": jpeg(2),
        },
    )
    # when imported with the format auto-detected
    job = run_import({"source": str(archive), "name": "zipped-manifest"})
    # then the manifest drove the labels
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert members_by_name(job.result["version"]) == {
        "x/a.jpg": ("unassigned", "cat", ["cat"]),
        "x/b.jpg": ("unassigned", "dog", ["dog"]),
    }


def test_exact_duplicates_are_stored_once_and_a_differing_label_is_a_conflict(tmp_path: Path):
    # given the same bytes three times, once under another class
    folder = source_folder(tmp_path)
    same = jpeg(7)
    write_files(folder, {"cat/a.jpg": same, "cat/b.jpg": same, "dog/c.jpg": same, "dog/d.jpg": jpeg(8)})
    # when imported
    job = run_import({"source": str(folder), "name": "dups"})
    # then one sample holds the three names, the first label wins, the conflict is reported
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (job.result["imported"], job.result["duplicates"], job.result["rejected"]) == (2, 2, 0)
    first = Sample.objects.get(original_name="cat/a.jpg")
    assert sorted(SampleAlias.objects.filter(sample=first).values_list("original_name", flat=True)) == [
        "cat/a.jpg", "cat/b.jpg", "dog/c.jpg",
    ]  # fmt: skip
    assert members_by_name(job.result["version"]) == {
        "cat/a.jpg": ("unassigned", "cat", ["cat"]),
        "dog/d.jpg": ("unassigned", "dog", ["dog"]),
    }
    assert report_statuses(job) == {
        "cat/b.jpg": ("duplicate", "exact duplicate of cat/a.jpg: stored once, kept as an alias"),
        "dog/c.jpg": ("conflict", "exact duplicate of cat/a.jpg with another label: kept 'cat', ignored 'dog'"),
    }


@pytest.mark.parametrize(
    ("name", "data", "mode"),
    [
        ("gray.png", image_bytes(128, mode="L", format="PNG"), "L"),
        ("cmyk.jpg", image_bytes((10, 20, 30, 40), mode="CMYK", format="JPEG"), "CMYK"),
        ("deep.png", image_bytes(40000, mode="I;16", format="PNG"), "I;16"),
        ("palette.png", image_bytes(3, mode="P", format="PNG"), "P"),
        ("alpha.png", image_bytes((1, 2, 3, 100), mode="RGBA", format="PNG"), "RGBA"),
    ],
)
def test_every_common_image_mode_imports_with_its_mode_and_a_thumbnail(tmp_path: Path, name, data, mode):
    # given one image of the mode
    folder = source_folder(tmp_path)
    write_files(folder, {f"cls/{name}": data})
    # when imported
    job = run_import({"source": str(folder), "name": f"mode-{mode}"})
    # then the mode is recorded and the thumbnail exists as a JPEG
    assert job.status == JobStatus.SUCCEEDED, job.error
    sample = Sample.objects.get(original_name=f"cls/{name}")
    assert (sample.mode, sample.width, sample.height) == (mode, 32, 24)
    assert blob_read(sample.thumbnail_key)[:3] == b"\xff\xd8\xff"


def test_exif_orientation_is_applied_to_the_recorded_size(tmp_path: Path):
    # given a 40×20 JPEG whose EXIF says "rotate 90°" (orientation 6)
    folder = source_folder(tmp_path)
    write_files(folder, {"cls/rotated.jpg": image_bytes(size=(40, 20), exif_orientation=6)})
    # when imported
    job = run_import({"source": str(folder), "name": "exif"})
    # then width and height are swapped
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert Sample.objects.values_list("width", "height").get() == (20, 40)


def test_progress_is_reported_after_each_batch(tmp_path: Path):
    # given five files imported two at a time
    folder = source_folder(tmp_path)
    write_files(folder, {f"cls/{n}.jpg": jpeg(n) for n in range(5)})
    calls = []
    # when imported
    job = run_import(
        {"source": str(folder), "name": "batches", "batch_size": 2},
        progress_callback=lambda done, total, message: calls.append((done, total)),
    )
    # then progress came at 0 and after every batch
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]
    assert (job.progress, job.message) == (1.0, "Done")


def test_the_import_runs_with_startup_objects_frozen_and_releases_them(tmp_path: Path):
    # given a folder, and a probe on what the garbage collector sees while each progress report is made
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1), "dog/b.jpg": jpeg(2)})
    gc.unfreeze()
    frozen_during: list[int] = []
    # when it is imported
    job = run_import(
        {"source": str(folder), "name": "frozen"},
        progress_callback=lambda done, total, message: frozen_during.append(gc.get_freeze_count()),
    )
    # then objects alive before the import were hidden from full collections while it ran, and not after
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert frozen_during and min(frozen_during) > 1000
    assert gc.get_freeze_count() == 0
