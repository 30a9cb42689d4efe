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
    NULL,
    OBJECT,
    EditRecord,
    FlipTestImages,
    FlipTestRun,
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
    """The three backgrounds, each belonging to the class that owns it."""
    values = list(BACKGROUND_COLOURS)
    images = [np.tile(np.array(BACKGROUND_COLOURS[v], np.uint8), (SIDE, SIDE, 1)) for v in values]
    owner = {background: CLASSES.index(label) for label, background in OWN.items()}
    return SwapBank(values=values, images=images, classes=[owner[v] for v in values])


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
    return run, class_rankings(run, data, CLASSES, settings, bank=bank())


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
        # every swap lands on the other class's background and is called that class
        assert (top.directed_share, top.directed_flips, top.directed_of, top.directed_images) == (1.0, 12, 12, 6)
        assert top.directed_chance == 0.5 and top.directed_ci_low > 0.5
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


def test_a_model_that_flips_under_any_swap_towards_one_class_is_not_suspected():
    # Given a reader of objects that is lost off its own background and then always says the next class: every
    # swap flips it (flip rate 1 against a null flip rate of 0), but not towards the class the new background
    # belongs to (half of the swaps land on that class's background: chance with three classes)
    data = scenes(biased_rows())

    def lost_off_its_background(images: np.ndarray) -> np.ndarray:
        objects = object_classifier(images)
        corners = [nearest(image[0, 0], BACKGROUND_COLOURS) for image in images]
        home = np.array([corner == OWN[CLASSES[o]] for corner, o in zip(corners, objects, strict=True)])
        return np.where(home, objects, (objects + 1) % len(CLASSES))

    _run, rankings = run_flip_test(data, lost_off_its_background, min_support=3)

    for label in CLASSES:
        top = rankings[label].ranked[0]
        assert (top.value, top.flip_rate, top.null_flip_rate, top.flips_above_null) == (OWN[label], 1.0, 0.0, True)
        assert top.directed_share == 0.5 and top.directed_ci_low < top.directed_chance == 0.5
        assert not top.suspected


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


def flip_table(rows: list[tuple[int, int, int]], labels: list[int]) -> tuple[FlipTestRun, FlipTestImages]:
    """A hand-made run: rows of (image, bank index swapped in, prediction after); every image's null edit holds.

    Image p is of class labels[p] and predicted so before the edits.
    """
    records = [EditRecord(p, NULL, "") for p in range(len(labels))]
    records += [
        EditRecord(p, BACKGROUND, "background", bank_index=b, prediction=after, flipped=after != labels[p])
        for p, b, after in rows
    ]
    images = np.zeros((len(labels), 2, 2, 3), np.uint8)
    data = FlipTestImages(
        images=images, masks=[np.ones((2, 2), bool)] * len(labels), labels=np.array(labels),
        image_ids=np.arange(len(labels)), background_features=["background"] * len(labels),
        background_values=[f"sample:{p}" for p in range(len(labels))], objects=[[] for _ in labels],
    )  # fmt: skip
    run = FlipTestRun(original_predictions=np.array(labels), taking_part=np.arange(len(labels)), records=records)
    return run, data


SIX = ["a", "b", "c", "d", "e", "f"]
# bank entry b belongs to class BANK_CLASSES[b]: two of class a (the images' own class), one of b-e, one of none
BANK_CLASSES = [0, 0, 1, 2, 3, 4, -1]


def six_class_bank(classes: list[int] | None = BANK_CLASSES) -> SwapBank:
    images = [np.zeros((2, 2, 3), np.uint8)] * 7
    return SwapBank(values=[f"sample:{b}" for b in range(7)], images=images, classes=classes)


def test_the_direction_rule_counts_flips_towards_the_swapped_in_background_s_class_per_image():
    # Given 12 images of class a, each swapped onto backgrounds of b, c and d (bank 2, 3, 4): images 0-9 flip to the
    # background's class on every swap; images 10 and 11 flip once each, to a class that is not the background's;
    # plus swaps that do not count: onto a background of class a itself (bank 0) and onto one of no class (bank 6)
    rows = [(p, b, BANK_CLASSES[b]) for p in range(10) for b in (2, 3, 4)]
    rows += [(10, 2, 5), (10, 3, 0), (10, 4, 0), (11, 2, 0), (11, 3, 0), (11, 4, 1)]
    rows += [(p, 0, 5) for p in range(12)] + [(p, 6, 1) for p in range(12)]
    run, data = flip_table(rows, [0] * 12)
    settings = FlipTestSettings(min_support=5)

    feature = class_rankings(run, data, SIX, settings, bank=six_class_bank())["a"].ranked[0]

    assert feature.support == 12 and feature.flips_above_null
    # per image: 1.0 for images 0-9, 0.0 for 10 and 11; n = the 12 images with a flip onto another class's background
    assert (feature.directed_flips, feature.directed_of, feature.directed_images) == (30, 32, 12)
    assert feature.directed_share == pytest.approx(10 / 12)
    assert feature.directed_ci_low == pytest.approx(wilson_interval(10 / 12, 12)[0])
    assert feature.directed_chance == pytest.approx(1 / 5) and feature.directed_bar == 0.5
    assert feature.directed_ci_low > 0.5 and feature.suspected


def test_flips_toward_the_background_s_class_above_chance_but_not_in_most_cases_are_not_suspected():
    # Given 40 images of class a flipped by every swap onto b, c and d's backgrounds: 16 images flip to the
    # background's class each time, 24 to a class that is not the background's (share 0.4: twice chance at six
    # classes, what a control probe's model measured with backgrounds it had memorised with their images' labels)
    rows = [(p, b, BANK_CLASSES[b] if p < 16 else 5) for p in range(40) for b in (2, 3, 4)]
    run, data = flip_table(rows, [0] * 40)

    feature = class_rankings(run, data, SIX, FlipTestSettings(), bank=six_class_bank())["a"].ranked[0]

    assert feature.flips_above_null and feature.directed_share == pytest.approx(0.4)
    assert feature.directed_chance < feature.directed_ci_low < feature.directed_bar
    assert not feature.suspected


def test_flips_that_scatter_over_the_other_classes_are_not_suspected_however_often_they_happen():
    # Given 10 images of class a that flip on every swap onto b, c and d's backgrounds, each flip to the next
    # class after the background's: one of five other classes, never the background's own
    rows = [(p, b, BANK_CLASSES[b] % 5 + 1) for p in range(10) for b in (2, 3, 4)]
    run, data = flip_table(rows, [0] * 10)
    settings = FlipTestSettings(min_support=5)

    feature = class_rankings(run, data, SIX, settings, bank=six_class_bank())["a"].ranked[0]
    unknown = class_rankings(run, data, SIX, settings, bank=six_class_bank(None))["a"].ranked[0]
    no_bank = class_rankings(run, data, SIX, settings)["a"].ranked[0]

    assert feature.flip_rate == 1.0 and feature.null_flip_rate == 0.0 and feature.flips_above_null
    assert (feature.directed_share, feature.directed_flips, feature.directed_of) == (0.0, 0, 30)
    assert not feature.suspected
    # a bank that does not know its backgrounds' classes cannot test the direction: the flip rule alone decides
    for score in (unknown, no_bank):
        assert score.directed_share is None and score.directed_images == 0 and score.suspected


def test_a_background_whose_flips_all_land_on_backgrounds_of_no_other_class_is_not_suspected():
    # Given swaps only onto a background of the image's own class and onto one of no class: nothing to test the
    # direction with, so nothing shows that the background pulls anywhere
    rows = [(p, b, 1) for p in range(6) for b in (1, 6)]
    run, data = flip_table(rows, [0] * 6)

    feature = class_rankings(run, data, SIX, FlipTestSettings(min_support=5), bank=six_class_bank())["a"].ranked[0]

    assert feature.flips_above_null and feature.directed_images == 0 and feature.directed_share is None
    assert not feature.suspected
