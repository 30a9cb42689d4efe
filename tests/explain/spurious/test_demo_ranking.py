"""Issue #8 part 5, measured: a small CNN trained on the demo's biased train split (each class on its own
background in 90% of its train images); the spurious-feature report on that split must name each class's injected
background (`class_backgrounds` of the demo truth) first in the class's ranking.

Why the train split: the flip test can only test a feature on images that carry it, and the bias lives in train (in
val and test backgrounds are shuffled, so a class meets its own background in ~2 test images at this size, fewer than
the minimum support of 5). Rule asserted, for every class: its own background is ranked first (ranked = at least 5
of the class's correctly classified images carry it). With the Debian images `make test` installs
(tuxpaint-stamps-default, mate-backgrounds: many stamps per class, 19 backgrounds), the model leans on the backgrounds
and the test also asserts that each own background is *suspected* (the Wilson 95% lower bound of its flip rate lies
above the class's null-edit flip rate, and that of the share of its swaps' flips going to the class that owns the
swapped-in background lies above 1/2: the direction rule, docs/METHODS.md §9) and pulls other classes' objects
towards its class more than the null edit does. Measured with demo seed 0 (287 train images, 32 px, 12 epochs):
own-background flip rates 0.62-0.96 (lower bounds 0.45-0.83) against null flip rates 0-0.03, shares of flips toward
the background's owner 0.84-1.00 (23-29 images each; chance 1/6); in the background pull the own background came
first for 6 of 7 classes (fruit: a water-drops background nobody owns, 0.848, just above its own aqua one, 0.836).
Demo seed 1 (before the direction rule): flip rates 0.55-1.00 (lower bounds 0.39-0.90), null 0-0.03, own background
first in the pull for all 7 classes.
Without those packages the demo falls back to objects cut from a handful of scikit-image/scikit-learn photos: every
object of a class is nearly the same picture, the model learns the objects (0.90 validation accuracy on shuffled
backgrounds) and relies on backgrounds only a little, so only the ranking is asserted there (measured: own-background
flip rates 0-0.33, null 0; suspected for 6 of 7 classes, not colour wheel, by the flip rule alone, before the
direction rule existed).

Run alone, with the numbers printed: `pytest tests/explain/spurious/test_demo_ranking.py -s`
(DEMO_SEED=1 for another demo seed).
"""

import json
import os
import time

import pytest
from django.test import Client

from curation.demo.plan import DemoConfig
from curation.demo.sources import OBJECT_SOURCE_TUXPAINT
from curation.services.demo import demo_dataset_build
from explain.spurious.selectors import suspected_spurious_features
from explain.spurious.services import spurious_report_create
from explain.spurious.services.features import demo_truth_document
from jobs.models import JobStatus
from jobs.services import job_execute
from robustness.models import TrainedModel
from robustness.services.training import training_run_start

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

DEMO = DemoConfig(seed=int(os.environ.get("DEMO_SEED", 0)), size=420)
IMG_SIZE = 32
EPOCHS = 12


def measured_numbers(report, class_backgrounds: dict[str, str]) -> dict:
    results = report.results
    per_class = {}
    for name, ranking in results["rankings"].items():
        per_class[name] = {
            "injected": class_backgrounds[name],
            "images": ranking["images"],
            "misclassified": ranking["misclassified"],
            "null_flip_rate": ranking["null_flip_rate"],
            "ranked": [
                (
                    f["rank"],
                    f["kind"],
                    f["value"],
                    round(f["flip_rate"], 3),
                    f["support"],
                    round(f["ci_low"], 3),
                    None if f["directed_share"] is None else round(f["directed_share"], 3),
                    f["directed_images"],
                    f["suspected"],
                )
                for f in ranking["ranked"]
            ],
            "low_support": [
                (f["kind"], f["value"], round(f["flip_rate"], 3), f["support"]) for f in ranking["low_support"]
            ],
            "pull_top3": [(e["value"], round(e["pull"], 3)) for e in results["pull"]["ranking"][name][:3]],
        }
    groups = results["groups"]
    return {
        "samples": results["samples"], "with_masks": results["with_masks"], "taking_part": results["taking_part"],
        "accuracy": results["accuracy"], "null_flip_rate": results["null_flip_rate"],
        "worst_group": groups["worst_group"], "worst_group_accuracy": groups["worst_accuracy"],
        "mean_accuracy": groups["mean_accuracy"], "objects": results["objects"], "per_class": per_class,
    }  # fmt: skip


def test_each_class_ranks_its_injected_background_first(admin_user):
    started = time.monotonic()
    demo = demo_dataset_build(config=DEMO, name="demo-spurious")
    training = training_run_start(
        version=demo.version, arch="small-cnn", requested_by=admin_user, epochs=EPOCHS, batch_size=32, lr=3e-3,
        img_size=IMG_SIZE, seed=0, device="cpu", augmentation="none", enqueue=False,
    )  # fmt: skip
    assert job_execute(training.job_id).status == JobStatus.SUCCEEDED
    trained = TrainedModel.objects.get(run=training)
    built = time.monotonic()

    report = spurious_report_create(
        trained_model=trained, version=demo.version, params={"split": "train", "device": "cpu"},
        requested_by=admin_user, enqueue=False,
    )  # fmt: skip
    job_execute(report.job_id)
    report.refresh_from_db()

    assert report.status == JobStatus.SUCCEEDED, report.job.error
    class_backgrounds = report.results["class_backgrounds"]
    measured = measured_numbers(report, class_backgrounds)
    measured["seconds"] = {"build_and_train": round(built - started, 1), "report": round(time.monotonic() - built, 1)}
    print("\nspurious-feature report on the demo:", json.dumps(measured, indent=1))
    suspected = suspected_spurious_features(report=report)
    strong_bias = demo_truth_document(demo.version)["objects_source"] == OBJECT_SOURCE_TUXPAINT
    for name, own in class_backgrounds.items():
        ranking = report.results["rankings"][name]
        assert ranking["ranked"][0]["value"] == own, (name, ranking["ranked"][:3])
        if strong_bias:
            top = ranking["ranked"][0]
            assert top["suspected"] and top["ci_low"] > ranking["null_flip_rate"], (name, top)
            assert top["directed_ci_low"] > top["directed_bar"] >= top["directed_chance"], (name, top)
            assert suspected[name][0].value == own and suspected[name][0].rank == 1
            own_pull = next(e for e in report.results["pull"]["ranking"][name] if e["value"] == own)
            assert own_pull["pull"] > 0, (name, own_pull)
    client = Client()
    client.force_login(admin_user)
    page = client.get(f"/spurious/{report.pk}/").content.decode()
    assert page.count('<span class="chip">injected</span>') == len(class_backgrounds)  # one ranked row per class
