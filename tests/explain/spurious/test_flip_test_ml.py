"""The flip test, the ranking and the background pull on hand-built images and hand-built "classifiers".

Scenes are 16 px: a solid background colour (its value names it) with a 6×6 object square in the
middle, optionally a 3×3 second object in the bottom-right corner. A classifier that reads only the
top-left corner (background) must get its background ranked first with flip rate 1 and a null flip
rate of 0; one that reads only the object's centre must get no flips at all. The counts are checked
against a slow reference that loops over images and edits one at a time.
"""

import numpy as np
import pytest

from explain.spurious.ml.flip_test import (
    BACKGROUND,
    OBJECT,
    FlipTestImages,
    FlipTestSettings,
    ObjectRegion,
    SwapBank,
    flip_test_run,
    swap_choices,
    wilson_interval,
)
from explain.spurious.ml.pull import PullSettings, background_pull
from explain.spurious.ml.ranking import class_rankings
from robustness.ml.attribute_edits import BackgroundSwap, NullEdit, remove_object

SIDE = 16
CLASSES = ["fox", "cow", "owl"]
BACKGROUND_COLOURS = {"snow": (250, 250, 250), "meadow": (20, 160, 20), "sky": (30, 60, 220)}
OBJECT_COLOURS = {"fox": (230, 110, 10), "cow": (60, 40, 20), "owl": (150, 150, 80)}
OWN = {"fox": "snow", "cow": "meadow", "owl": "sky"}


def scene(label: str, background: str, second: str | None = None) -> tuple[np.ndarray, np.ndarray, list[ObjectRegion]]:
    image = np.empty((SIDE, SIDE, 3), np.uint8)
    image[:] = BACKGROUND_COLOURS[background]
    mask = np.zeros((SIDE, SIDE), bool)
    mask[5:11, 5:11] = True
    image[mask] = OBJECT_COLOURS[label]
    regions = []
    if second is not None:
        region = np.zeros((SIDE, SIDE), bool)
        region[12:15, 12:15] = True
        image[region] = OBJECT_COLOURS[second]
        mask |= region
        regions.append(ObjectRegion(second, region))
    return image, mask, regions


def scenes(rows: list[tuple[str, str, str | None]]) -> FlipTestImages:
    built = [scene(*row) for row in rows]
    return FlipTestImages(
        images=np.stack([b[0] for b in built]),
        masks=[b[1] for b in built],
        labels=np.array([CLASSES.index(r[0]) for r in rows]),
        image_ids=np.arange(100, 100 + len(rows)),
        background_features=[r[1] for r in rows],
        background_values=[r[1] for r in rows],
        objects=[b[2] for b in built],
    )


def bank() -> SwapBank:
    values = list(BACKGROUND_COLOURS)
    images = [np.tile(np.array(BACKGROUND_COLOURS[v], np.uint8), (SIDE, SIDE, 1)) for v in values]
    return SwapBank(values=values, images=images)


def nearest(colour: np.ndarray, table: dict[str, tuple[int, int, int]]) -> str:
    return min(table, key=lambda name: float(np.sum((colour.astype(float) - table[name]) ** 2)))


def background_classifier(images: np.ndarray) -> np.ndarray:
    """The class whose own background is nearest to the top-left pixel."""
    by_background = {v: k for k, v in OWN.items()}
    return np.array([CLASSES.index(by_background[nearest(image[0, 0], BACKGROUND_COLOURS)]) for image in images])


def object_classifier(images: np.ndarray) -> np.ndarray:
    """The class whose object colour is nearest to the object's centre pixel."""
    return np.array([CLASSES.index(nearest(image[8, 8], OBJECT_COLOURS)) for image in images])


def biased_rows() -> list[tuple[str, str, str | None]]:
    """Every class six times on its own background (two of them with a second object), once elsewhere."""
    rows: list[tuple[str, str, str | None]] = []
    for label in CLASSES:
        other = next(c for c in CLASSES if c != label)
        rows += [(label, OWN[label], None)] * 4 + [(label, OWN[label], other)] * 2
        rows.append((label, OWN[other], None))
    return rows


def run_flip_test(data, classify, **settings):
    settings = FlipTestSettings(**{"swaps_per_image": 2, "min_support": 3, "batch_images": 4, **settings})
    run = flip_test_run(data, bank(), classify, original_predictions=classify(data.images), settings=settings)
    return run, class_rankings(run, data, CLASSES, settings)


def test_a_background_reader_gets_its_own_background_ranked_first_with_every_swap_flipped():
    data = scenes(biased_rows())

    _run, rankings = run_flip_test(data, background_classifier)

    for label in CLASSES:
        ranking = rankings[label]
        assert ranking.images == 6 and ranking.misclassified == 1  # the image on another class's background
        assert ranking.null_flip_rate == 0.0
        top = ranking.ranked[0]
        assert (top.kind, top.value, top.rank, top.support, top.edits) == (BACKGROUND, OWN[label], 1, 6, 12)
        assert top.flip_rate == 1.0 and top.score == 1.0 and top.suspected
        assert [(f.kind, f.flip_rate, f.support) for f in ranking.low_support] == [(OBJECT, 0.0, 2)]


def test_an_object_reader_flips_on_no_edit_and_nothing_is_suspected():
    data = scenes(biased_rows())

    run, rankings = run_flip_test(data, object_classifier)

    assert all(not record.flipped for record in run.records)
    for label in CLASSES:
        ranking = rankings[label]
        assert ranking.images == 7 and ranking.misclassified == 0
        assert ranking.null_flip_rate == 0.0
        assert [(f.value, f.flip_rate, f.suspected) for f in ranking.ranked] == [(OWN[label], 0.0, False)]


def test_removing_a_second_object_that_the_model_reads_flips_it():
    rows = [("fox", "snow", "cow")] * 5 + [("fox", "snow", None)] * 3

    def corner_object_classifier(images: np.ndarray) -> np.ndarray:
        # "fox" when the cow-coloured corner object is present, else "owl"
        return np.array(
            [0 if nearest(image[13, 13], OBJECT_COLOURS | BACKGROUND_COLOURS) == "cow" else 2 for image in images]
        )

    data = scenes(rows)
    _, rankings = run_flip_test(data, corner_object_classifier)

    fox = rankings["fox"]
    assert fox.images == 5 and fox.misclassified == 3
    assert [(f.kind, f.value, f.flip_rate, f.support) for f in fox.ranked] == [
        (OBJECT, "cow", 1.0, 5),
        (BACKGROUND, "snow", 0.0, 5),
    ]


def reference_flip_rates(data, classify, settings) -> tuple[dict, dict]:
    """Slow reference: one image and one edit at a time, without the batched runner."""
    swap_bank = bank()
    null_rates: dict[str, list[float]] = {}
    feature_flips: dict[tuple[str, str, str], list[float]] = {}
    for p in range(len(data)):
        original = int(classify(data.images[p : p + 1])[0])
        label = CLASSES[int(data.labels[p])]
        if original != data.labels[p]:
            continue
        null = NullEdit()(data.images[p], data.masks[p], rng=np.random.default_rng(0))
        null_rates.setdefault(label, []).append(float(classify(null[None])[0] != original))
        swaps = [
            float(classify(BackgroundSwap()(data.images[p], data.masks[p], rng=np.random.default_rng(0),
                                            background=swap_bank.images[b])[None])[0] != original)
            for b in swap_choices(data, swap_bank, p, settings)
        ]  # fmt: skip
        feature_flips.setdefault((label, BACKGROUND, data.background_features[p]), []).append(float(np.mean(swaps)))
        for region in data.objects[p]:
            removed = remove_object(data.images[p], region.mask)
            flip = float(classify(removed[None])[0] != original)
            feature_flips.setdefault((label, OBJECT, region.class_name), []).append(flip)
    return (
        {label: float(np.mean(v)) for label, v in null_rates.items()},
        {key: (float(np.mean(v)), len(v)) for key, v in feature_flips.items()},
    )


def test_flip_rates_equal_a_slow_reference_for_a_model_that_reads_both():
    rng = np.random.default_rng(7)
    rows = [(CLASSES[int(rng.integers(3))], str(rng.choice(list(BACKGROUND_COLOURS))), None) for _ in range(30)]
    rows = [
        (label, bg, next(c for c in CLASSES if c != label) if i % 4 == 0 else None)
        for i, (label, bg, _) in enumerate(rows)
    ]

    def mixed_classifier(images: np.ndarray) -> np.ndarray:
        # object colour, except that the sky always says owl and an owl off the sky looks like a cow
        objects = object_classifier(images)
        sky = np.array([nearest(image[0, 0], BACKGROUND_COLOURS) == "sky" for image in images])
        owl, cow = CLASSES.index("owl"), CLASSES.index("cow")
        return np.where(sky, owl, np.where(objects == owl, cow, objects))

    data = scenes(rows)
    settings = FlipTestSettings(swaps_per_image=2, min_support=1, batch_images=7)
    run = flip_test_run(
        data, bank(), mixed_classifier, original_predictions=mixed_classifier(data.images), settings=settings
    )
    rankings = class_rankings(run, data, CLASSES, settings)
    reference_null, reference_features = reference_flip_rates(data, mixed_classifier, settings)

    measured = {
        (label, f.kind, f.value): (f.flip_rate, f.support)
        for label, r in rankings.items()
        for f in r.ranked + r.low_support
    }
    assert measured == reference_features
    assert {label: r.null_flip_rate for label, r in rankings.items() if r.images} == reference_null
    owl_sky = measured[("owl", BACKGROUND, "sky")]
    assert owl_sky[0] == 1.0  # owls are recognised only on the sky: every swap flips them
    assert rankings["owl"].ranked[0].value == "sky"


def test_swaps_never_pick_the_images_own_background_and_are_seeded_per_image():
    data = scenes([("fox", "snow", None), ("cow", "meadow", None)])
    settings = FlipTestSettings(swaps_per_image=5)

    first = swap_choices(data, bank(), 0, settings)

    assert first == [1, 2]  # both other backgrounds; snow (index 0) never
    assert swap_choices(data, bank(), 0, settings) == first
    assert 1 not in swap_choices(data, bank(), 1, settings)


def test_background_pull_names_the_background_a_reader_ties_to_each_class():
    data = scenes(biased_rows())

    pull = background_pull(data, bank(), background_classifier, classes=CLASSES, settings=PullSettings(max_images=100))

    assert pull["images"] == 21
    for label in CLASSES:
        top = pull["ranking"][label][0]
        assert top["value"] == OWN[label] and top["rank"] == 1
        assert top["rate"] == 1.0  # every other-class object on that background is called `label`
    # The control: after the null edit the reader calls an image `label` only when it sits on `label`'s background.
    # Two of the 14 non-fox images (the cow and the owl shown elsewhere) sit on snow.
    assert pull["control"]["fox"] == {"rate": 2 / 14, "support": 14}
    assert pull["rows"]["snow"]["fox"]["support"] == 12  # those two are left out of snow's row
    assert pull["rows"]["snow"]["fox"]["pull"] == 1.0 - 2 / 14


def test_background_pull_of_an_object_reader_is_zero():
    data = scenes(biased_rows())

    pull = background_pull(data, bank(), object_classifier, classes=CLASSES, settings=PullSettings())

    assert {row[name]["pull"] for row in pull["rows"].values() for name in CLASSES} == {0.0}


def test_wilson_interval_matches_the_textbook_values():
    assert wilson_interval(0.5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(1.0, 6) == pytest.approx((0.6097, 1.0), abs=1e-4)
    assert wilson_interval(0.0, 0) == (0.0, 1.0)
