"""What each export format writes, file by file, and its checksum manifest (run inline on PostgreSQL)."""

import csv
import hashlib
import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from core.storage import blob_key, blob_save, sha256_bytes
from curation.exports.selectors import export_member_batches
from curation.exports.services.layout import ExportLayout
from curation.exports.services.outputs import CHECKSUM_FILE_NAME
from curation.models import Sample
from jobs.models import JobStatus
from tests.curation.exports.builders import (
    export_file_bytes,
    export_zip,
    pets_version,
    run_export,
    stored_bytes,
    stored_export_files,
)
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db


def member_facts(version):
    """{sha256: (sample id, split, label, label names, origins, image bytes)} of the version."""
    facts = {}
    for member in version.members.select_related("sample").order_by("sample_id"):
        facts[member.sample.sha256] = (
            member.sample_id,
            member.split,
            member.label,
            [entry["label"] for entry in member.labels],
            [entry["origin"] for entry in member.labels],
            stored_bytes(member.sample.image_key),
        )
    return facts


def test_jsonl_manifest_has_one_row_per_member_with_labels_origins_split_and_provenance(curator):
    # given a version with multi-labels, every split, a mask and a label holding a '/'
    version = pets_version(created_by=curator)
    first = version.members.select_related("sample").order_by("sample_id").first()
    # when exported as JSONL
    export, job = run_export(version, "jsonl", user=curator)
    # then every member has a row, in sample-id order, with the ImageFolder path of its file
    assert job.status == JobStatus.SUCCEEDED, job.error
    rows = [json.loads(line) for line in export_file_bytes(export, "manifest.jsonl").decode().splitlines()]
    assert len(rows) == 8
    assert rows[0] == {
        "path": f"train/cat/{first.sample.sha256}.png",
        "sha256": first.sample.sha256,
        "label": "cat",
        "label_origin": "import",
        "labels": ["cat"],
        "label_origins": ["import"],
        "split": "train",
        "dataset": "pets",
        "version": 1,
        "version_id": version.pk,
        "sample_id": first.sample_id,
        "source": "real",
        "caption": "",
        "mask": f"masks/{first.sample.sha256}.png",
        "width": 32,
        "height": 24,
        "provenance": {"original_path": f"cat/{first.sample.original_name}"},
        "soft_labels": None,
    }
    facts = member_facts(version)
    assert [(r["split"], r["label"], r["labels"], r["label_origins"]) for r in rows] == [
        (split, label, names, origins) for _, split, label, names, origins, _ in facts.values()
    ]
    assert [r["path"].rsplit("/", 2)[-2] for r in rows] == [
        "cat",
        "cat",
        "dog",
        "dog",
        "cat",
        "bird_eagle",
        "dog",
        "cat",
    ]
    assert (export.sample_count, job.result["samples"], job.result["files"]) == (8, 8, ["manifest.jsonl"])


def test_csv_manifest_joins_label_sets_and_origins_with_semicolons(curator):
    # given the version
    version = pets_version(created_by=curator)
    # when exported as CSV
    export, job = run_export(version, "csv", user=curator)
    # then the header is the manifest's columns and lists are joined as the import reads them
    assert job.status == JobStatus.SUCCEEDED, job.error
    rows = list(csv.DictReader(io.StringIO(export_file_bytes(export, "manifest.csv").decode())))
    assert list(rows[0]) == [
        "path", "sha256", "label", "label_origin", "labels", "label_origins", "split", "dataset", "version",
        "version_id", "sample_id", "source", "caption", "mask", "width", "height", "provenance", "soft_labels",
    ]  # fmt: skip
    assert [(r["split"], r["label"], r["labels"], r["label_origins"]) for r in rows] == [
        ("train", "cat", "cat", "import"),
        ("train", "cat", "cat;dog", "import;model"),
        ("train", "dog", "dog", "import"),
        ("val", "dog", "dog;cat", "import;consensus"),
        ("val", "cat", "cat", "import"),
        ("test", "bird/eagle", "bird/eagle", "import"),
        ("test", "dog", "dog", "import"),
        ("unassigned", "cat", "cat", "import"),
    ]
    assert json.loads(rows[2]["provenance"])["original_path"].startswith("dog/")
    assert {r["soft_labels"] for r in rows} == {""}


def test_imagefolder_zip_holds_split_class_files_masks_and_the_manifest(curator):
    # given the version
    version = pets_version(created_by=curator)
    facts = member_facts(version)
    # when exported as an ImageFolder zip
    export, job = run_export(version, "imagefolder-zip", user=curator)
    # then each image sits at split/class/sha256.png with its exact bytes, beside the manifest and the mask
    assert job.status == JobStatus.SUCCEEDED, job.error
    with export_zip(export, "imagefolder.zip") as archive:
        names = archive.namelist()
        manifest = [json.loads(line) for line in archive.read("manifest.jsonl").decode().splitlines()]
        images = {row["sha256"]: archive.read(row["path"]) for row in manifest}
        mask_rows = [row for row in manifest if row["mask"]]
        assert archive.read(mask_rows[0]["mask"]).startswith(b"\x89PNG")
        assert archive.getinfo(manifest[0]["path"]).compress_type == 0  # stored: images are compressed already
    assert images == {sha: fact[5] for sha, fact in facts.items()}
    assert sorted(n.split("/")[0] for n in names) == sorted(
        ["masks", "manifest.jsonl", *["train"] * 3, *["val"] * 2, *["test"] * 2, "unassigned"]
    )
    assert len(mask_rows) == 1


def test_huggingface_layout_has_a_metadata_file_per_split_named_as_datasets_expects(curator):
    # given the version
    version = pets_version(created_by=curator)
    # when exported in the HF imagefolder layout
    export, job = run_export(version, "hf-imagefolder", user=curator)
    # then splits are train/validation/test/unassigned, each with its metadata.jsonl naming its files
    assert job.status == JobStatus.SUCCEEDED, job.error
    with export_zip(export, "hf-imagefolder.zip") as archive:
        names = archive.namelist()
        metadata = {
            folder: [json.loads(line) for line in archive.read(f"{folder}/metadata.jsonl").decode().splitlines()]
            for folder in ("train", "validation", "test", "unassigned")
        }
        readme = archive.read("README.md").decode()
    assert {folder: len(rows) for folder, rows in metadata.items()} == {
        "train": 3, "validation": 2, "test": 2, "unassigned": 1,
    }  # fmt: skip
    assert all(f"{folder}/{row['file_name']}" in names for folder, rows in metadata.items() for row in rows)
    assert metadata["validation"][0]["labels"] == ["dog", "cat"]
    assert metadata["validation"][0]["label_origins"] == ["import", "consensus"]
    assert json.loads(metadata["test"][0]["provenance"])["original_path"].startswith("bird/eagle/")
    assert "  - split: unassigned\n    path: unassigned/**" in readme


def test_webdataset_shards_split_by_shard_size_with_image_json_and_class_index(curator):
    # given the version
    version = pets_version(created_by=curator)
    # when exported as WebDataset shards of 2 samples
    export, job = run_export(version, "webdataset", user=curator, shard_size=2)
    # then each split has ceil(n / 2) shards, and samples carry their class index in classes.txt order
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["files"] == [
        "train-000000.tar", "train-000001.tar", "val-000000.tar", "test-000000.tar", "unassigned-000000.tar",
        "classes.txt",
    ]  # fmt: skip
    assert export_file_bytes(export, "classes.txt") == b"cat\ndog\nbird/eagle\n"
    with tarfile.open(fileobj=io.BytesIO(export_file_bytes(export, "test-000000.tar"))) as tar:
        names = tar.getnames()
        sha = names[0].split(".")[0]
        meta = json.loads(tar.extractfile(f"{sha}.json").read())
        cls = tar.extractfile(f"{sha}.cls").read()
    assert [n.split(".", 1)[1] for n in names] == ["png", "json", "cls", "png", "json", "cls"]
    assert (meta["label"], cls) == ("bird/eagle", b"2")
    assert export.options == {"shard_size": 2}


def noise_png(seed: int, side: int = 450) -> bytes:
    """A PNG of random pixels: about 600 KB that no compression shrinks."""
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def test_webdataset_byte_limit_closes_a_shard_before_it_would_grow_past_it(curator):
    # given three train members of about 600 KB each
    version = DatasetVersionFactory(sample_count=3, created_by=curator)
    for seed in range(3):
        data = noise_png(seed)
        digest = sha256_bytes(data)
        blob_save(key=blob_key(sha256=digest, kind="images", extension="png"), data=data)
        VersionSampleFactory(version=version, sample=SampleFactory(dataset=version.dataset, sha256=digest))
    # when exported with at most 1 MiB per shard (and up to 1000 samples)
    export, job = run_export(version, "webdataset", user=curator, shard_max_bytes=1024 * 1024)
    # then two samples never share a shard, and no shard is larger than the limit
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [f["name"] for f in export.files] == [
        "train-000000.tar",
        "train-000001.tar",
        "train-000002.tar",
        "classes.txt",
    ]
    assert all(f["size"] <= 1024 * 1024 for f in export.files)
    with tarfile.open(fileobj=io.BytesIO(export_file_bytes(export, "train-000001.tar"))) as tar:
        assert [name.split(".", 1)[1] for name in tar.getnames()] == ["png", "json", "cls"]


def test_the_fast_manifest_line_is_the_manifest_row_as_json(curator):
    # given members with multi-labels, a mask, a caption with quotes and a newline, non-ASCII provenance
    version = pets_version(created_by=curator)
    Sample.objects.filter(pk=version.members.first().sample_id).update(
        caption='a "cat"\non a mat', provenance={"original_path": "chat/été.png", "seed": 3, "nested": {"a": [1]}}
    )
    layout = ExportLayout(version)
    # when each member is written as a JSONL line
    members = [member for batch in export_member_batches(version.pk) for member in batch]
    lines = [layout.manifest_line(member) for member in members]
    # then every line is one line, and parses to exactly the row the other formats use
    assert all(line.count(b"\n") == 1 and line.endswith(b"\n") for line in lines)
    assert [json.loads(line) for line in lines] == [layout.manifest_row(member) for member in members]
    assert json.loads(lines[0])["provenance"] == {"original_path": "chat/été.png", "seed": 3, "nested": {"a": [1]}}


def test_every_export_stores_a_sha256sums_manifest_of_its_files(curator):
    # given an export with several files
    version = pets_version(created_by=curator)
    export, job = run_export(version, "webdataset", user=curator, shard_size=3)
    # when its checksum manifest is read
    lines = stored_bytes(export.checksum_key).decode().splitlines()
    # then it lists every produced file with the sha256 of its stored bytes, as sha256sum -c reads it
    assert job.status == JobStatus.SUCCEEDED, job.error
    expected = [
        f"{hashlib.sha256(export_file_bytes(export, f['name'])).hexdigest()}  {f['name']}" for f in export.files
    ]
    assert lines == expected
    assert stored_export_files(export.pk) == sorted([f["name"] for f in export.files] + [CHECKSUM_FILE_NAME])
    assert export.size == sum(len(export_file_bytes(export, f["name"])) for f in export.files)
