"""What the flip test edits on a demo version: background ids from the truth, secondary objects located by their
boxes (scaled like the images), the demo's background bank; and the box scaling itself."""

import numpy as np
import pytest
import torch
from PIL import Image

from curation.demo.plan import DemoConfig
from curation.services.demo import demo_dataset_build
from explain.spurious.services.features import (
    BANK_DEMO,
    SOURCE_DEMO,
    box_at_input_size,
    demo_truth_document,
    feature_setup,
)
from robustness.evaluation.services.backgrounds import demo_background_bank
from robustness.evaluation.services.dataset import evaluation_set_load
from robustness.ml.preprocessing import Preprocessing, image_to_uint8


@pytest.mark.parametrize(("width", "height", "size"), [(200, 140, 32), (131, 224, 32), (224, 224, 64), (150, 199, 48)])
def test_a_box_scaled_to_the_input_contains_the_scaled_mask_and_hugs_it(width, height, size):
    rng = np.random.default_rng(width * height + size)
    for _ in range(20):
        x0, y0 = int(rng.integers(0, width - 30)), int(rng.integers(0, height - 30))
        x1, y1 = int(rng.integers(x0 + 20, width + 1)), int(rng.integers(y0 + 20, height + 1))
        mask = np.zeros((height, width), np.uint8)
        mask[y0:y1, x0:x1] = 255
        resized = image_to_uint8(Image.fromarray(mask, "L"), size)[0].numpy() > 127

        bx0, by0, bx1, by1 = box_at_input_size([x0, y0, x1, y1], width, height, size)

        rows, cols = np.flatnonzero(resized.any(axis=1)), np.flatnonzero(resized.any(axis=0))
        if len(rows) == 0:  # the box fell outside the centre crop
            continue
        assert bx0 <= cols[0] and by0 <= rows[0] and cols[-1] < bx1 and rows[-1] < by1
        assert cols[0] - bx0 <= 1 and rows[0] - by0 <= 1 and bx1 - cols[-1] - 1 <= 1 and by1 - rows[-1] - 1 <= 1


@pytest.mark.django_db
def test_demo_features_come_from_the_truth_and_secondary_objects_are_located():
    torch.set_num_threads(1)
    demo = demo_dataset_build(config=DemoConfig(seed=0, size=120, multi_object_rate=0.3), name="demo-features")
    document = demo_truth_document(demo.version)
    records = {r["sha256"]: r for r in document["samples"].values()}
    evaluation_set = evaluation_set_load(
        version=demo.version, split="all", classes=document["classes"],
        preprocessing=Preprocessing(img_size=48, mean=(0.5,) * 3, std=(0.5,) * 3),
    )  # fmt: skip

    setup = feature_setup(evaluation_set, demo.version)

    assert setup.source == SOURCE_DEMO and setup.bank_source == BANK_DEMO
    assert setup.bank.values == demo_background_bank().ids and setup.pull_possible
    assert setup.class_backgrounds == document["class_backgrounds"]
    assert setup.groups == evaluation_set.groups
    assert len(setup.data) + len(setup.left_out) == len(evaluation_set)
    located = 0
    for i, position in enumerate(setup.positions.tolist()):
        record = records[evaluation_set.samples[position].sha256]
        assert setup.data.background_features[i] == setup.data.background_values[i] == record["background"]
        regions = setup.data.objects[i]
        assert [r.class_name for r in regions] == [o["class"] for o in record["objects"][1 : 1 + len(regions)]]
        for region in regions:
            assert region.mask.any() and not (region.mask & ~setup.data.masks[i]).any()  # inside the union mask
        located += len(regions)
    multi = sum(len(records[evaluation_set.samples[p].sha256]["objects"]) > 1 for p in setup.positions.tolist())
    assert located == setup.objects["removable"] and located + setup.objects["not_separable"] == multi
    assert located >= multi // 2  # most second objects are placed apart from the first
