"""The exports load in the libraries that consume them: torchvision's ImageFolder, the `datasets`
imagefolder loader (offline), and `webdataset`; and the ImageFolder zip imports back unchanged."""

import hashlib
import io
from pathlib import Path

import pytest
import torchvision
import webdataset
from PIL import Image

from curation.models import DatasetVersion, Sample
from jobs.models import JobStatus
from tests.curation.exports.builders import export_file_bytes, extract, pets_version, run_export, stored_bytes
from tests.curation.test_import_helpers import run_import

pytestmark = pytest.mark.django_db


def expected_by_sha(version: DatasetVersion) -> dict[str, tuple[str, str, list[str]]]:
    """{sha256: (split, primary label, label names)} of the version's members."""
    return {
        m.sample.sha256: (m.split, m.label, [entry["label"] for entry in m.labels])
        for m in version.members.select_related("sample")
    }


def test_torchvision_imagefolder_reads_each_split_folder_of_the_zip(curator, tmp_path: Path):
    # given the version exported as an ImageFolder zip and extracted
    version = pets_version(created_by=curator)
    export, job = run_export(version, "imagefolder-zip", user=curator)
    root = extract(export, "imagefolder.zip", tmp_path / "extracted")
    # when torchvision's ImageFolder reads the train and test folders
    train = torchvision.datasets.ImageFolder(str(root / "train"))
    test = torchvision.datasets.ImageFolder(str(root / "test"))
    # then it finds the classes and every image, decoded
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert train.classes == ["cat", "dog"]
    assert sorted(train.classes[target] for _, target in train.samples) == ["cat", "cat", "dog"]
    assert test.classes == ["bird_eagle", "dog"]
    image, target = test[0]
    assert (image.size, test.classes[target]) == ((32, 24), "bird_eagle")


def test_datasets_imagefolder_loader_reads_the_hf_layout_offline(curator, tmp_path: Path, monkeypatch):
    # given the version exported in the HF imagefolder layout and extracted
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    version = pets_version(created_by=curator)
    export, job = run_export(version, "hf-imagefolder", user=curator)
    root = extract(export, "hf-imagefolder.zip", tmp_path / "hf")
    # when `datasets` loads it with its imagefolder builder
    loaded = datasets.load_dataset("imagefolder", data_dir=str(root), cache_dir=str(tmp_path / "cache"))
    # then the recognised splits come with the images and the metadata's labels and label sets
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert sorted(loaded) == ["test", "train", "validation"]
    assert {name: loaded[name].num_rows for name in loaded} == {"train": 3, "validation": 2, "test": 2}
    expected = expected_by_sha(version)
    rows = [row for name in loaded for row in loaded[name]]
    assert {row["sha256"]: (row["split"], row["label"], row["labels"]) for row in rows} == {
        sha: facts for sha, facts in expected.items() if facts[0] != "unassigned"
    }
    first = loaded["train"][0]
    assert isinstance(first["image"], Image.Image)
    assert (
        hashlib.sha256(first["image"].tobytes()).hexdigest()
        == hashlib.sha256(
            Image.open(io.BytesIO(stored_bytes(Sample.objects.get(sha256=first["sha256"]).image_key))).tobytes()
        ).hexdigest()
    )


def test_datasets_reads_every_split_including_unassigned_from_the_readme(curator, tmp_path: Path, monkeypatch):
    # given the extracted HF layout, whose README declares the four splits
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    import datasets

    version = pets_version(created_by=curator)
    export, _ = run_export(version, "hf-imagefolder", user=curator)
    root = extract(export, "hf-imagefolder.zip", tmp_path / "hf")
    # when the folder itself is loaded
    loaded = datasets.load_dataset(str(root), cache_dir=str(tmp_path / "cache"))
    # then unassigned members are a split of their own
    assert {name: loaded[name].num_rows for name in loaded} == {"train": 3, "validation": 2, "test": 2, "unassigned": 1}


def test_webdataset_reads_the_shards_with_images_metadata_and_class_indices(curator, tmp_path: Path):
    # given the version exported as shards of 2 samples, copied to a folder
    version = pets_version(created_by=curator)
    export, job = run_export(version, "webdataset", user=curator, shard_size=2)
    for item in export.files:
        (tmp_path / item["name"]).write_bytes(export_file_bytes(export, item["name"]))
    classes = (tmp_path / "classes.txt").read_text().splitlines()
    # when webdataset iterates the train shards, decoding images to PIL
    pipeline = webdataset.WebDataset(
        str(tmp_path / "train-{000000..000001}.tar"), shardshuffle=False, empty_check=False
    ).decode("pil")
    samples = list(pipeline)
    # then every train sample comes with its image, its manifest row and its class index
    assert job.status == JobStatus.SUCCEEDED, job.error
    expected = expected_by_sha(version)
    assert sorted(s["__key__"] for s in samples) == sorted(sha for sha, f in expected.items() if f[0] == "train")
    for sample in samples:
        assert sample["png"].size == (32, 24)
        assert classes[sample["cls"]] == sample["json"]["label"] == expected[sample["__key__"]][1]
        assert sample["json"]["labels"] == expected[sample["__key__"]][2]


def test_imagefolder_zip_imports_back_with_the_same_hashes_labels_and_splits(curator, tmp_path: Path):
    # given the version exported as an ImageFolder zip
    version = pets_version(created_by=curator)
    export, _ = run_export(version, "imagefolder-zip", user=curator)
    archive = tmp_path / "pets.zip"
    archive.write_bytes(export_file_bytes(export, "imagefolder.zip"))
    # when the import job imports the zip as a new dataset
    job = run_import({"source": str(archive), "name": "pets again"}, user=curator)
    # then the new version has the same content hashes, primary labels, label sets and splits
    assert job.status == JobStatus.SUCCEEDED, job.error
    again = DatasetVersion.objects.get(pk=job.result["version"])
    assert expected_by_sha(again) == expected_by_sha(version)
    assert again.operation_params["format"] == "jsonl"
    assert [line["status"] for line in job.result["report"]] == ["warning"]  # the export-only manifest keys
    assert job.result["report"][0]["reason"] == (
        "unknown columns ignored: dataset, height, label_origin, label_origins, provenance, sample_id, sha256, "
        "soft_labels, source, version, version_id, width"
    )
    masked = again.members.exclude(sample__mask_key="").get()
    assert masked.sample.sha256 == version.members.exclude(sample__mask_key="").get().sample.sha256
