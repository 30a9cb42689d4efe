"""Issue part 5 (Grad-CAM half), measured: a model trained on the demo's biased split leans on the background more
than one trained on a debiased version, by Grad-CAM's background reliance (share of map energy outside the mask).

Biased: the demo (seed 0, 420 files) where each class sits on its own background in 90% of train.
Debiased: the same seed built with own_background_rate = 1 / (number of backgrounds), so every train
image's background is drawn uniformly from the bank whatever its class. The planner draws the objects
and splits before the backgrounds from one seeded stream, so the two datasets hold (nearly) the same
objects in the same splits (checked below on the truth: second objects, duplicates and label noise
are drawn after the backgrounds and differ); what differs by design is the train backgrounds. The
test splits are shuffled in both. Both small CNNs (64 px, 12 epochs, same seed and recipe as the
evaluation test) are explained with Grad-CAM on the *biased* demo's test split, the same images, and
the test asserts rankings of their mean background reliance, not numbers. Both runs are shown side by
side on the comparison page.

Measured here (pip-fallback demo objects: 7 classes, 7 backgrounds; 62 test images, all with masks;
deterministic on CPU, the same figures on every run): biased 0.398 vs debiased 0.390 over the whole
test split (accuracy 85% vs 100%, pointing game 0.90 vs 1.00); on the 8 test images that sit on their
class's own background, where the shortcut is available, 0.483 vs 0.397, while on the others the two
models are level (0.386 vs 0.389). The overall gap is small and depends on the input size and layer: in a
side experiment with the same demos, at 32 px the ranking flipped (last block 0.541 vs 0.564; the block
before 0.318 vs 0.327), at 48 px it held (0.452 vs 0.443; 0.297 vs 0.243). The own-background gap held in
every setting but one (32 px, last block: 0.549 vs 0.552). This test keeps the setting chosen before
measuring (64 px, the architecture's own target layer) and asserts both rankings. With DEMO_SEED=1
(65 test images, 12 on their own background) it passed too: 0.446 vs 0.403 overall, 0.495 vs 0.393
on own backgrounds (accuracy 83% vs 98%, ROAD combined 0.28 vs 0.41).

With the Debian demo images that `make test` installs (tuxpaint stamps on mate backgrounds; seed 0, 61 test
images, all with masks), measured by the coordinator: biased 0.776 vs debiased 0.728 overall (accuracy 18%
vs 31%, pointing game 0.30 vs 0.48); on the 3 test images on their class's own background 0.927 vs 0.668.

Run it alone, with the numbers printed: `pytest tests/explain/test_demo_background_reliance.py -s`
(DEMO_SEED=1 for another demo seed).
"""

import json
import os
import time
from collections import Counter

import pytest
from django.test import Client

from curation.demo.plan import DemoConfig
from curation.demo.sources import demo_sources_load
from curation.services.demo import demo_dataset_build, demo_source_dirs
from explain.selectors import background_reliance_by_class
from explain.services import explanation_run_create
from jobs.models import JobStatus
from jobs.services import job_execute
from robustness.evaluation.services.dataset import demo_truth_records
from robustness.models import TrainedModel
from robustness.services.training import training_run_start

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

DEMO_SEED = int(os.environ.get("DEMO_SEED", 0))
IMG_SIZE = 64
EPOCHS = 12


def _objects(records: list[dict]) -> list[tuple[str, str, str]]:
    """(split, class, stamp of the primary object) per truth record."""
    return [(r["split"], r["class"], r["objects"][0]["stamp"]) for r in records]


def trained_on(version, user) -> TrainedModel:
    training = training_run_start(
        version=version, arch="small-cnn", requested_by=user, epochs=EPOCHS, batch_size=32, lr=3e-3,
        img_size=IMG_SIZE, seed=0, device="cpu", augmentation="none", enqueue=False,
    )  # fmt: skip
    assert job_execute(training.job_id).status == JobStatus.SUCCEEDED
    return TrainedModel.objects.get(run=training)


def test_grad_cam_background_reliance_is_higher_for_the_model_trained_on_the_biased_split(admin_user):
    started = time.monotonic()
    stamps, backgrounds = demo_source_dirs()
    bank_size = len(demo_sources_load(stamps_dir=stamps, backgrounds_dir=backgrounds).backgrounds)
    biased = demo_dataset_build(config=DemoConfig(seed=DEMO_SEED, size=420), name="demo-biased")
    debiased = demo_dataset_build(
        config=DemoConfig(seed=DEMO_SEED, size=420, own_background_rate=1 / bank_size), name="demo-debiased"
    )
    truth = {name: demo_truth_records(result.version) for name, result in (("b", biased), ("d", debiased))}
    train = {name: [r for r in records.values() if r["split"] == "train"] for name, records in truth.items()}
    own_rate = {name: sum(r["own_background"] for r in rows) / len(rows) for name, rows in train.items()}
    shared = Counter(_objects(train["b"])) & Counter(_objects(train["d"]))
    shared_share = sum(shared.values()) / len(train["b"])

    models = {name: trained_on(result.version, admin_user) for name, result in (("b", biased), ("d", debiased))}
    trained_at = time.monotonic()
    runs = {}
    for name, model in models.items():
        run = explanation_run_create(
            trained_model=model, version=biased.version, requested_by=admin_user, enqueue=False,
            params={"split": "test", "device": "cpu", "road_percentiles": [50]},
        )  # fmt: skip
        job_execute(run.job_id)
        run.refresh_from_db()
        assert run.status == JobStatus.SUCCEEDED, run.job.error
        runs[name] = run

    overall = {name: run.summary["overall"] for name, run in runs.items()}
    measured = {
        "train_own_background_rate": own_rate,
        "train_objects_shared": round(shared_share, 3),
        "test_samples": overall["b"]["count"],
        "with_mask": overall["b"]["with_mask"],
        **{
            f"{key}_{'biased' if name == 'b' else 'debiased'}": overall[name][key]
            for name in runs
            for key in ("background_reliance", "pointing_game", "accuracy", "road_combined")
        },
        "by_background": {
            name: {side: runs[name].summary["by_background"][side]["background_reliance"] for side in ("own", "other")}
            for name in runs
        },
        "own_background_test_samples": runs["b"].summary["by_background"]["own"]["count"],
        "background_reliance_by_class": {name: background_reliance_by_class(run) for name, run in runs.items()},
        "seconds": {
            "build_and_train": round(trained_at - started, 1),
            "explain": round(time.monotonic() - trained_at, 1),
        },
    }
    print("\nbackground reliance, biased vs debiased:", json.dumps(measured, indent=1))
    assert own_rate["b"] > 0.85 and own_rate["d"] < 0.3
    assert shared_share > 0.9  # the same objects, mostly: duplicates and second objects are drawn after backgrounds
    assert (
        overall["b"]["with_mask"] == overall["d"]["with_mask"] == overall["b"]["count"]
    )  # every demo image has a mask
    assert overall["b"]["background_reliance"] > overall["d"]["background_reliance"]
    # Where the shortcut is available (the test image sits on its class's own background) the gap is larger.
    own = {name: by_side["own"] for name, by_side in measured["by_background"].items()}
    assert own["b"] > own["d"]

    client = Client()
    client.force_login(admin_user)
    compare = client.get(f"/explanations/compare/?left={runs['b'].pk}&right={runs['d'].pk}")
    first_class, value = next(iter(measured["background_reliance_by_class"]["b"].items()))
    assert compare.status_code == 200 and f"{value * 100:.1f}%" in compare.content.decode(), first_class
    report = client.get(f"/explanations/{runs['b'].pk}/").content.decode()
    assert f"{overall['b']['background_reliance'] * 100:.1f}%" in report
