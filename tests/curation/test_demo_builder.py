"""The Django-free demo generator, checked against its own ground truth (no database)."""

import io
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.stats import chisquare

from curation.demo.build import DemoBuild, demo_build
from curation.demo.plan import DemoConfig, demo_plan
from curation.demo.sources import (
    OBJECT_SOURCE_FALLBACK,
    DemoSources,
    demo_sources_load,
    stamp_phrase,
    tuxpaint_stamps,
)
from curation.demo.truth import mask_bbox, truth_by_sha256, truth_dumps, truth_groups, truth_loads

SMALL = DemoConfig(seed=0, size=120)


@pytest.fixture(scope="module")
def sources() -> DemoSources:
    return demo_sources_load()


@pytest.fixture(scope="module")
def small_build(sources: DemoSources) -> DemoBuild:
    return demo_build(SMALL, sources)


def _distinct(build: DemoBuild) -> list[dict]:
    """One record per distinct image (exact copies dropped)."""
    return [records[0] for records in truth_by_sha256(build.truth).values()]


def _bases(build: DemoBuild) -> list[dict]:
    return [r for r in _distinct(build) if r["near_duplicate_transform"] is None]


def test_file_counts_follow_the_rates(small_build):
    # given 120 files at 2% exact and 4% near duplicates: 2 copies, 5 variants, 113 bases
    records = small_build.truth["samples"].values()
    # then
    assert len(records) == 120
    assert len(_distinct(small_build)) == 118
    assert len(_bases(small_build)) == 113
    assert sorted(small_build.truth["samples"]) == [f"demo_{i:05d}.jpg" for i in range(120)]


def test_bases_are_class_balanced_and_split_per_class(small_build, sources):
    # given 113 bases over 7 classes: 17 for the first class, 16 for the others
    bases = _bases(small_build)
    per_class = Counter(r["class"] for r in bases)
    # then: 17 → 12/3/2 and 16 → 11/2/3 (train/val/test by rounding 70/15/15)
    assert [per_class[c] for c in sources.classes] == [17, 16, 16, 16, 16, 16, 16]
    assert Counter(r["split"] for r in bases) == {"train": 12 + 6 * 11, "val": 3 + 6 * 2, "test": 2 + 6 * 3}
    first = Counter(r["split"] for r in bases if r["class"] == sources.classes[0])
    assert first == {"train": 12, "val": 3, "test": 2}


def test_exact_duplicates_are_byte_identical_under_other_names(small_build):
    data = {f.file_name: f.data for f in small_build.files}
    groups = truth_groups(small_build.truth, "exact_duplicate_group")
    assert sorted(groups) == [0, 1]
    for names in groups.values():
        assert len(names) == 2
        assert data[names[0]] == data[names[1]]
        shas = {small_build.truth["samples"][n]["sha256"] for n in names}
        assert len(shas) == 1


def test_near_duplicates_differ_in_bytes_but_not_in_content(small_build):
    files = {f.file_name: f for f in small_build.files}
    groups = truth_groups(small_build.truth, "near_duplicate_group")
    assert sorted(groups) == [0, 1, 2, 3, 4]
    transforms = []
    for names in groups.values():
        first, second = (small_build.truth["samples"][n] for n in names)
        assert files[names[0]].data != files[names[1]].data
        assert first["sha256"] != second["sha256"]
        for key in ("class", "split", "background", "width", "height"):
            assert first[key] == second[key]
        transforms.append(first["near_duplicate_transform"] or second["near_duplicate_transform"])
    # changes cycle jitter → jpeg → brightness over the groups
    assert sorted(transforms) == ["brightness", "jitter", "jitter", "jpeg", "jpeg"]


def test_label_noise_hits_the_configured_fraction_of_train(small_build):
    distinct = _distinct(small_build)
    train = [r for r in distinct if r["split"] == "train"]
    noisy = [r for r in distinct if r["is_noisy"]]
    assert len(noisy) == round(0.05 * len(train))
    assert {r["split"] for r in noisy} == {"train"}
    for record in noisy:
        assert record["label"] != record["class"]
        assert record["true_labels"] == [record["class"]]
    clean = [r for r in small_build.truth["samples"].values() if not r["is_noisy"]]
    assert all(r["label"] == r["class"] for r in clean)


def test_label_noise_rate_is_configurable(sources):
    plan = demo_plan(DemoConfig(seed=0, size=120, label_noise_rate=0.2), sources)
    distinct = {i.content_id: i for i in plan.images}.values()
    train = [i for i in distinct if i.split == "train"]
    assert sum(i.is_noisy for i in distinct) == round(0.2 * len(train))


def test_multi_object_images_carry_both_true_labels(small_build):
    multi = [r for r in _bases(small_build) if len(r["true_labels"]) > 1]
    assert len(multi) == round(0.08 * 113)
    for record in multi:
        assert record["true_labels"][0] == record["class"]
        assert len(set(record["true_labels"])) == 2
        assert [o["class"] for o in record["objects"]] == record["true_labels"]
        assert " and " in record["caption"]


def test_each_class_sits_on_its_own_background_at_the_configured_rate_in_train(small_build, sources):
    own = small_build.truth["class_backgrounds"]
    assert sorted(own) == sorted(sources.classes)
    assert len(set(own.values())) == len(sources.classes)
    for class_name, background in own.items():
        train = [r for r in _bases(small_build) if r["class"] == class_name and r["split"] == "train"]
        on_own = [r for r in train if r["background"] == background]
        assert len(on_own) == round(0.9 * len(train))
        assert all(r["own_background"] == (r["background"] == background) for r in train)
    train_files = [r for r in small_build.truth["samples"].values() if r["split"] == "train"]
    assert abs(sum(r["own_background"] for r in train_files) / len(train_files) - 0.9) <= 0.03


def test_val_and_test_backgrounds_are_shuffled_uniformly(sources):
    # given the default size (planning only: no pixels needed)
    plan = demo_plan(DemoConfig(seed=0), sources)
    held_out = [i for i in plan.images if i.split != "train"]
    counts = Counter(i.background_id for i in held_out)
    # then every background occurs and the counts are consistent with uniform draws
    assert len(counts) == len(sources.backgrounds)
    assert chisquare([counts[b.background_id] for b in sources.backgrounds]).pvalue > 0.01
    own_rate = sum(i.own_background for i in held_out) / len(held_out)
    assert own_rate < 2.5 / len(sources.backgrounds)


def test_masks_are_non_empty_inside_the_image_and_match_its_size(small_build):
    for file in small_build.files:
        record = small_build.truth["samples"][file.file_name]
        image = Image.open(io.BytesIO(file.data))
        assert image.format == "JPEG"
        assert image.size == (record["width"], record["height"])
        assert file.mask.shape == (record["height"], record["width"])
        assert file.mask.dtype == bool
        assert file.mask.any()
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(file.mask_png))), file.mask.astype(np.uint8) * 255)
        x0, y0, x1, y1 = record["mask_bbox"]
        assert 0 <= x0 < x1 <= record["width"] and 0 <= y0 < y1 <= record["height"]
        assert record["mask_bbox"] == mask_bbox(file.mask)
        for entry in record["objects"]:
            ox0, oy0, ox1, oy1 = entry["bbox"]
            assert 0 <= ox0 < ox1 <= record["width"] and 0 <= oy0 < oy1 <= record["height"]
            assert file.mask[oy0:oy1, ox0:ox1].any()


def test_image_sides_vary_within_128_to_224(small_build):
    sides = [s for r in small_build.truth["samples"].values() for s in (r["width"], r["height"])]
    assert min(sides) >= 128 and max(sides) <= 224
    assert len(set(sides)) > 40


def test_captions_name_the_object_and_the_background(small_build, sources):
    for record in small_build.truth["samples"].values():
        description = sources.background(record["background"]).description
        assert record["caption"].startswith("a photo of ")
        assert record["caption"].endswith(f"{description} background")


def test_same_seed_gives_identical_bytes_and_truth(small_build, sources):
    again = demo_build(SMALL, sources)
    assert [f.data for f in again.files] == [f.data for f in small_build.files]
    assert truth_dumps(again.truth) == truth_dumps(small_build.truth)


def test_another_seed_gives_another_dataset(small_build, sources):
    other = demo_build(DemoConfig(seed=1, size=120), sources)
    assert {f.sha256 for f in other.files}.isdisjoint({f.sha256 for f in small_build.files})
    assert other.truth["config"]["seed"] == 1


def test_truth_round_trips_through_json(small_build, tmp_path):
    path = tmp_path / "truth.json"
    path.write_bytes(truth_dumps(small_build.truth))
    assert truth_loads(path) == small_build.truth
    with pytest.raises(ValueError, match="not a Winnow demo truth"):
        truth_loads(b'{"format": "other"}')


def test_too_small_a_size_is_refused(sources):
    with pytest.raises(ValueError, match="size must be at least"):
        demo_plan(DemoConfig(size=10), sources)


def test_fallback_objects_come_from_pip_packages_and_say_so(tmp_path):
    # given neither stamps nor background photos on this machine
    sources = demo_sources_load(stamps_dir=tmp_path / "no-stamps", backgrounds_dir=tmp_path / "no-backgrounds")
    # then seven pip-shipped classes, seven pip backgrounds, and notes that say why
    assert sources.object_source == OBJECT_SOURCE_FALLBACK
    assert sources.classes == ["person", "cat", "cup", "flower", "coin", "colour wheel", "logo"]
    assert len(sources.backgrounds) == 7
    assert [n.split(":")[0] for n in sources.notes] == [
        f"tuxpaint stamps at {tmp_path / 'no-stamps'}",
        f"no background photos at {tmp_path / 'no-backgrounds'}; backgrounds come from pip packages only",
    ]
    assert len(sources.stamps["coin"]) >= 20
    for stamps in sources.stamps.values():
        for stamp in stamps:
            alpha = stamp.rgba[..., 3] > 127
            assert 0.2 < alpha.mean() < 1.0
    build = demo_build(DemoConfig(seed=0, size=60), sources)
    assert build.truth["objects_source"] == OBJECT_SOURCE_FALLBACK
    assert len(build.files) == 60


def _stamp(folder: Path, name: str, caption: str, *, grey: bool = False, flags: str = "") -> None:
    rng = np.random.default_rng(sum(map(ord, name)))
    rgba = rng.integers(0, 256, (60, 80, 4), dtype=np.uint8)
    rgba[..., 3] = 0
    rgba[10:50, 10:70, 3] = 255
    if grey:
        rgba[..., 1] = rgba[..., 2] = rgba[..., 0]
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba, mode="RGBA").save(folder / f"{name}.png")
    (folder / f"{name}.txt").write_text(f"{caption}\nfr.utf8=Traduction.\n")
    if flags:
        (folder / f"{name}.dat").write_text(flags)


def test_tuxpaint_discovery_keeps_photo_stamps_with_captions(tmp_path):
    # given 6 stamps in animals/mammals (one in a sub-folder) and stamps that must be left out
    mammals = tmp_path / "animals" / "mammals"
    for i in range(5):
        _stamp(mammals, f"beast{i}", f"A beast number {i}.")
    _stamp(mammals / "bovines", "cow", "A cow.", flags="noflip\nnomirror\n")
    _stamp(mammals / "cartoon", "toon", "A cartoon.")
    _stamp(mammals, "tinted", "A tinted one.", flags="tintable\n")
    _stamp(mammals, "greyish", "A grey one.", grey=True)
    _stamp(mammals, "vector", "A vector one.")
    (mammals / "vector.svg").write_text("<svg/>")
    _stamp(tmp_path / "food" / "fruit", "apple", "An apple.")
    # when
    classes = tuxpaint_stamps(tmp_path)
    # then only mammals has enough stamps; cartoons, tintables, greys and svg twins are out
    assert list(classes) == ["mammals"]
    stamps = {s.stamp_id: s for s in classes["mammals"]}
    assert sorted(stamps) == [f"animals/mammals/beast{i}.png" for i in range(5)] + ["animals/mammals/bovines/cow.png"]
    assert stamps["animals/mammals/bovines/cow.png"].phrase == "a cow"
    assert stamps["animals/mammals/bovines/cow.png"].mirror_allowed is False
    assert stamps["animals/mammals/beast0.png"].rgba.shape == (40, 60, 4)


def test_too_few_tuxpaint_classes_fall_back_and_say_why(tmp_path):
    mammals = tmp_path / "animals" / "mammals"
    for i in range(5):
        _stamp(mammals, f"beast{i}", f"A beast number {i}.")
    sources = demo_sources_load(stamps_dir=tmp_path)
    assert sources.object_source == OBJECT_SOURCE_FALLBACK
    assert sources.notes[0] == (
        f"tuxpaint stamps at {tmp_path}: only 1 of 6 needed classes have ≥ 5 photo stamps; "
        "objects come from the pip fallback"
    )


@pytest.mark.parametrize(
    ("caption", "phrase"),
    [
        ("A badger.", "a badger"),
        ("An elephant.", "an elephant"),
        ("Two wild boars.", "two wild boars"),
        ("Balsam.", "Balsam"),
    ],
)
def test_stamp_phrase(caption, phrase):
    assert stamp_phrase(caption) == phrase
