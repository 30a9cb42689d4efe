"""The demo dataset stored in Winnow (service and command) on PostgreSQL, against its truth."""

import io
import json

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from PIL import Image

from core.api_errors import ApplicationError
from core.storage import blob_read
from curation.demo.plan import DemoConfig
from curation.demo.truth import truth_by_sha256, truth_loads
from curation.models import Dataset, DatasetVersion, Sample, SampleAlias, VersionSample
from curation.services import demo as demo_service
from curation.services.demo import demo_dataset_build

SMALL = DemoConfig(seed=0, size=80)


def _truth(version: DatasetVersion) -> dict:
    return truth_loads(blob_read(version.operation_params["truth_key"]))


@pytest.fixture
def demo(db) -> demo_service.DemoDatasetResult:
    return demo_dataset_build(config=SMALL, name="demo-test")


def test_build_stores_one_sample_per_distinct_image(demo):
    truth = _truth(demo.version)
    by_hash = truth_by_sha256(truth)
    assert demo.created is True
    assert demo.files == 80
    assert Sample.objects.filter(dataset=demo.dataset).count() == len(by_hash) == demo.samples
    assert VersionSample.objects.filter(version=demo.version).count() == len(by_hash)
    assert demo.version.sample_count == len(by_hash)
    assert demo.exact_duplicate_aliases == 80 - len(by_hash) == truth["summary"]["exact_duplicate_groups"]


def test_every_file_name_is_an_alias_of_the_sample_with_its_hash(demo):
    truth = _truth(demo.version)
    aliases = SampleAlias.objects.filter(dataset=demo.dataset).values_list("original_name", "sample__sha256")
    assert sorted(aliases) == sorted((name, r["sha256"]) for name, r in truth["samples"].items())


def test_dataset_and_version_describe_the_build(demo):
    dataset, version = demo.dataset, demo.version
    assert dataset.classes == _truth(version)["classes"]
    assert dataset.description.startswith("Demo dataset and ground-truth benchmark, generated (seed 0): 80 composites")
    assert (version.number, version.operation, version.parent) == (1, "demo", None)
    params = version.operation_params
    assert params["truth_key"] == "demo/demo-test-truth.json"
    assert (params["seed"], params["size"], params["own_background_rate"], params["label_noise_rate"]) == (
        0,
        80,
        0.9,
        0.05,
    )
    assert params["source"] == demo.object_source
    assert params["class_backgrounds"] == _truth(version)["class_backgrounds"]


def test_labels_splits_and_label_sets_are_stored_as_in_truth(demo):
    by_hash = truth_by_sha256(_truth(demo.version))
    members = VersionSample.objects.filter(version=demo.version).select_related("sample")
    noisy = multi = 0
    for member in members:
        record = by_hash[member.sample.sha256][0]
        assert (member.split, member.label, member.label_origin) == (record["split"], record["label"], "demo")
        expected = [record["label"], *record["true_labels"][1:]]
        assert member.labels == [{"label": label, "origin": "demo"} for label in expected]
        noisy += record["is_noisy"]
        multi += len(record["true_labels"]) > 1
    assert noisy == round(0.05 * sum(1 for m in members if m.split == "train"))
    assert noisy > 0 and multi > 0


def test_masks_captions_and_provenance_are_stored(demo):
    by_hash = truth_by_sha256(_truth(demo.version))
    for sample in Sample.objects.filter(dataset=demo.dataset):
        record = by_hash[sample.sha256][0]
        mask = np.asarray(Image.open(io.BytesIO(blob_read(sample.mask_key))))
        assert mask.shape == (sample.height, sample.width) == (record["height"], record["width"])
        assert set(np.unique(mask)) == {0, 255}
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        assert record["mask_bbox"] == [cols[0], rows[0], cols[-1] + 1, rows[-1] + 1]
        assert sample.caption == record["caption"]
        assert sample.format == "JPEG"
        assert sample.provenance == {
            "generator": "winnow-demo",
            "seed": 0,
            "source": demo.object_source,
            "object_stamps": [o["stamp"] for o in record["objects"]],
            "background": record["background"],
            "original_path": record["file_name"],
        }


def test_truth_can_also_be_written_to_a_path(db, tmp_path):
    path = tmp_path / "out" / "truth.json"
    result = demo_dataset_build(config=SMALL, name="with-path", truth_path=path)
    assert result.truth_path == str(path)
    assert truth_loads(path) == _truth(result.version)


def test_names_that_slugify_alike_get_distinct_truth_keys(demo):
    other = demo_dataset_build(config=SMALL, name="Demo Test")
    assert demo.truth_key == "demo/demo-test-truth.json"
    assert other.truth_key.startswith("demo/demo-test-") and other.truth_key != demo.truth_key
    assert _truth(demo.version)["samples"] == _truth(other.version)["samples"]


def test_progress_is_reported_per_batch(db, monkeypatch):
    monkeypatch.setattr(demo_service, "BATCH_SIZE", 30)
    calls = []
    demo_dataset_build(config=SMALL, name="progress", progress=lambda done, total, message: calls.append((done, total)))
    assert calls == [(30, 80), (60, 80), (80, 80)]


def test_existing_name_is_refused_and_if_missing_is_a_no_op(demo):
    with pytest.raises(ApplicationError, match="a dataset named 'demo-test' already exists"):
        demo_dataset_build(config=SMALL, name="demo-test")
    again = demo_dataset_build(config=SMALL, name="demo-test", if_missing=True)
    assert (again.created, again.dataset, again.version) == (False, demo.dataset, demo.version)
    assert Dataset.objects.count() == 1
    assert Sample.objects.count() == demo.samples


def _stored_files(folder: str) -> list[str]:
    if folder and not default_storage.exists(folder):
        return []
    directories, files = default_storage.listdir(folder)
    nested = [path for d in directories for path in _stored_files(f"{folder}{d}/")]
    return [f"{folder}{f}" for f in files] + nested


def test_a_failed_build_leaves_nothing_behind(db, monkeypatch):
    # given a build that fails after its first batch was ingested
    def failing_progress(done: int, total: int, message: str) -> None:
        raise RuntimeError("disk full")

    # when
    with pytest.raises(RuntimeError, match="disk full"):
        demo_dataset_build(config=SMALL, name="broken", progress=failing_progress)
    # then no rows and no blobs remain
    assert (Dataset.objects.count(), Sample.objects.count(), SampleAlias.objects.count()) == (0, 0, 0)
    assert _stored_files("") == []


def test_the_same_seed_stores_the_same_images(db):
    first = demo_dataset_build(config=SMALL, name="first")
    second = demo_dataset_build(config=SMALL, name="second")
    hashes = [set(Sample.objects.filter(dataset=r.dataset).values_list("sha256", flat=True)) for r in (first, second)]
    assert hashes[0] == hashes[1]
    assert _truth(first.version)["samples"] == _truth(second.version)["samples"]


def _command(*args: str) -> tuple[dict, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("build_demo_dataset", *args, stdout=stdout, stderr=stderr)
    return json.loads(stdout.getvalue().strip().splitlines()[-1]), stderr.getvalue()


def test_command_builds_then_does_nothing_with_if_missing(db, settings, tmp_path):
    settings.DEMO_DATASET_NAME = "demo"
    # when
    first, _ = _command("--seed", "0", "--size", "60", "--if-missing", "--truth", str(tmp_path / "t.json"))
    second, _ = _command("--seed", "0", "--size", "60", "--if-missing")
    # then
    dataset = Dataset.objects.get(name="demo")
    version = dataset.versions.get()
    truth = truth_loads(tmp_path / "t.json")
    assert first == {
        "created": True,
        "dataset_id": dataset.pk,
        "name": "demo",
        "version_id": version.pk,
        "files": 60,
        "samples": version.sample_count,
        "exact_duplicate_aliases": 60 - version.sample_count,
        "classes": dataset.classes,
        "source": truth["objects_source"],
        "truth_key": "demo/demo-truth.json",
        "truth_path": str(tmp_path / "t.json"),
        "notes": first["notes"],
        "seconds": first["seconds"],
    }
    assert second == {
        "created": False,
        "dataset_id": dataset.pk,
        "name": "demo",
        "version_id": version.pk,
        "message": "dataset 'demo' already exists; nothing to do",
    }
    assert Sample.objects.count() == version.sample_count


def test_command_refuses_an_existing_name(demo):
    stderr = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("build_demo_dataset", "--size", "60", "--name", "demo-test", stdout=io.StringIO(), stderr=stderr)
    assert exit_info.value.code == 1
    assert stderr.getvalue().strip() == (
        "error: a dataset named 'demo-test' already exists (use another name, or --if-missing)"
    )
    assert Dataset.objects.count() == 1


def test_command_refuses_a_size_too_small_for_the_classes(db):
    stderr = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("build_demo_dataset", "--size", "10", stdout=io.StringIO(), stderr=stderr)
    assert stderr.getvalue().strip() == "error: size must be at least 42 (6 images per class)"
    assert Dataset.objects.count() == 0


def test_command_falls_back_to_pip_objects_and_says_so(db, monkeypatch, tmp_path):
    # given no tuxpaint stamps where the environment points
    monkeypatch.setenv("WINNOW_DEMO_STAMPS_DIR", str(tmp_path / "none"))
    # when
    result, stderr = _command("--seed", "0", "--size", "60", "--name", "fallback", "--verbosity", "0")
    # then
    assert result["source"] == "pip-fallback"
    assert result["classes"] == ["person", "cat", "cup", "flower", "coin", "colour wheel", "logo"]
    note = f"tuxpaint stamps at {tmp_path / 'none'}: missing; objects come from the pip fallback"
    assert result["notes"][0] == note
    assert f"note: {note}" in stderr
    dataset = Dataset.objects.get(name="fallback")
    assert "tuxpaint stamps were unavailable" in dataset.description
    assert dataset.versions.get().operation_params["source"] == "pip-fallback"
    labels = VersionSample.objects.filter(version__dataset=dataset).values_list("label", flat=True)
    assert set(labels) == set(result["classes"])
