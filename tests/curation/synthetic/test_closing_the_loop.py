"""Issue #9 part 4, measured: biased train split → spurious background found → counter-examples composited
→ approved → new version → retrain → the compare page shows worst-group accuracy and background-swap drop
before and after.

The spurious backgrounds come from a spurious-feature report (explain.spurious, the flip test) run on the
biased model over the train split; its suspected background features per class become the plan's avoid
lists (the same path as "plan from report" in the API and `manage.py generate --from-report`). When the report
suspects nothing for a class, that class's composites may use any background of the bank. Counter-examples:
every class's masked train objects composited onto bank backgrounds off its avoid list (PER_CLASS per class),
so in the new version class and background decorrelate; flagged by the biased model; approved through the
bulk-review service the review page calls; applied into a new version (operation synthetic); a model is
retrained with the same seed and hyper-parameters. Both models are evaluated on the same test split, with
synthetic images left out (the evaluation's default, stored in its params).

What is asserted is what a decorrelated train set must do to this model, on samples big enough to
tell: on the test split (~60 images), top-1 and the accuracy on objects on a foreign background rise over
the biased baseline on the same seed; on the original train images that sit on their class's own background
(~260, where the biased model learned its shortcut) the background-swap drop does not rise, and falls by
more than 0.1 whenever the biased model's drop there was 0.2 or more. The worst test group (class x
own/other background) and the swap drop on the test images that sit on their own background are shown on
the compare page and printed, not asserted: those groups hold 2-8 images, and an earlier version of this
test that required one of them to improve failed when a single swap on three images went the other way.

Measured (demo seed 0, size 420, 61-62 test images, 60 composites per class, 2-6 minutes on a 2-core
machine), in both demos the report suspected exactly the demo's own backgrounds (printed beside it from the
demo truth, for the reader only) for the classes it ranked:
- tuxpaint-stamps objects on mate-backgrounds (the demo `make run` builds): other-background accuracy
  0.19 -> 0.43, top-1 0.23 -> 0.46, swap drop on the 258 own-background train images 0.78 -> 0.53, on the
  3 own-background test images 0.33 -> 0.33, worst group 0.00 -> 0.00;
- the pip fallback objects (a machine without those Debian packages; measured before the train-split
  figure was added): other-background accuracy 0.926 -> 0.981, top-1 0.935 -> 0.984, worst group
  0.75 -> 0.875, swap drop on own-background test images 0 -> 0.
Run alone to print this run's figures: `pytest tests/curation/synthetic/test_closing_the_loop.py -s`.
"""

import json
import time

import pytest
from django.test import Client

from core.storage import blob_read
from curation.demo.plan import DemoConfig
from curation.demo.truth import truth_loads
from curation.models import SampleSource, VersionOperation, VersionSample
from curation.services.demo import demo_dataset_build
from curation.synthetic.models import ReviewStatus
from curation.synthetic.services.apply import synthetic_batch_apply
from curation.synthetic.services.plans import plan_params_validate, synthetic_batch_create
from curation.synthetic.services.report_plans import avoid_from_spurious_report
from curation.synthetic.services.review import synthetic_images_review_bulk
from explain.spurious.services.reports import spurious_report_create
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from robustness.evaluation.selectors import evaluation_summary
from robustness.evaluation.services import evaluation_run_create
from robustness.models import TrainedModel
from robustness.services.training import training_run_start

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

DEMO = DemoConfig(seed=0, size=420)
IMG_SIZE, EPOCHS, SEED = 32, 12, 0
PER_CLASS = 60


def train(version, user) -> TrainedModel:
    run = training_run_start(
        version=version, arch="small-cnn", requested_by=user, epochs=EPOCHS, batch_size=32, lr=3e-3,
        img_size=IMG_SIZE, seed=SEED, device="cpu", augmentation="none", enqueue=False,
    )  # fmt: skip
    assert job_execute(run.job_id).status == JobStatus.SUCCEEDED
    return TrainedModel.objects.get(run=run)


def evaluate(trained: TrainedModel, version, user, split: str = "test"):
    run = evaluation_run_create(
        trained_model=trained, version=version, suites=["clean", "attributes"],
        params={"split": split, "edits": ["null", "background_swap"], "device": "cpu"},
        requested_by=user, enqueue=False,
    )  # fmt: skip
    job_execute(run.job_id)
    run.refresh_from_db()
    assert run.status == JobStatus.SUCCEEDED, run.job.error
    return run


def spurious_avoid_lists(biased: TrainedModel, version, user) -> tuple[dict[str, list[str]], int]:
    """The report's suspected background features per class (as the plan reads them), and the report id."""
    report = spurious_report_create(
        trained_model=biased, version=version, params={"device": "cpu", "pull": False}, requested_by=user,
        enqueue=False,
    )  # fmt: skip
    assert job_execute(report.job_id).status == JobStatus.SUCCEEDED
    return avoid_from_spurious_report(report.pk), report.pk


def measured(run) -> dict:
    summary, results = evaluation_summary(run), run.results
    edits = results["attributes"]["edits"]
    return {
        "top1": summary["top1"],
        "worst_group": summary["worst_group"],
        "worst_group_accuracy": summary["worst_group_accuracy"],
        "own_background_accuracy": results["clean"]["groups"]["own_background"]["accuracy"],
        "other_background_accuracy": results["clean"]["groups"]["other_background"]["accuracy"],
        "background_swap_drop": edits["background_swap"]["drop"],
        "background_swap_drop_own": edits["background_swap"]["by_background"]["own"]["drop"],
        "null_edit_drop": edits["null"]["drop"],
    }


def test_counter_examples_close_the_loop_on_the_demo(admin_user, curator):
    started = time.monotonic()
    demo = demo_dataset_build(config=DEMO, name="demo-synthetic-loop")
    biased = train(demo.version, admin_user)

    # Spurious backgrounds found by the report, then counter-examples composited off them, flagged by the model.
    avoid, report_id = spurious_avoid_lists(biased, demo.version, admin_user)
    params = plan_params_validate(
        version_id=demo.version.pk, mode="composite", per_class=PER_CLASS, seed=SEED, avoid=avoid,
        flag_model_id=biased.pk,
    )  # fmt: skip
    batch = synthetic_batch_create(params=params, user=curator, plan_source="spurious_report",
                                   spurious_report_id=report_id)  # fmt: skip
    job = job_execute(job_create(kind="synthetic_generate", params={"batch_id": batch.pk}, requested_by=curator).pk)
    assert job.status == JobStatus.SUCCEEDED, job.error
    classes = demo.dataset.classes
    assert job.result["images"] == PER_CLASS * len(classes)
    assert all(i.background not in avoid.get(i.intended_class, []) for i in batch.images.all())

    # Reviewed (approved through the service the review page's bulk action calls) and applied.
    changed = synthetic_images_review_bulk(batch=batch, decision=ReviewStatus.APPROVED, user=curator)
    assert changed == PER_CLASS * len(classes)
    version = synthetic_batch_apply(batch=batch, user=curator)
    assert version.operation == VersionOperation.SYNTHETIC and version.parent_id == demo.version.pk
    synthetic_members = VersionSample.objects.filter(version=version, sample__source=SampleSource.SYNTHETIC)
    assert set(synthetic_members.values_list("split", flat=True)) == {"train"}
    test_members = VersionSample.objects.filter(split="test")
    assert sorted(test_members.filter(version=version).values_list("sample_id", flat=True)) == sorted(
        test_members.filter(version=demo.version).values_list("sample_id", flat=True)
    )

    # Retrained on the same seed and hyper-parameters; both evaluated on the same test split.
    debiased = train(version, admin_user)
    before, after = evaluate(biased, version, admin_user), evaluate(debiased, version, admin_user)
    figures = {"before": measured(before), "after": measured(after)}
    # The biased train images, most on their class's own background: swapping it is the well-supported measure.
    train_before, train_after = (evaluate(m, demo.version, admin_user, split="train") for m in (biased, debiased))
    figures["train_own_background_swap"] = {
        "before": train_before.results["attributes"]["edits"]["background_swap"]["by_background"]["own"],
        "after": train_after.results["attributes"]["edits"]["background_swap"]["by_background"]["own"],
    }
    truth_own = truth_loads(blob_read(demo.truth_key))["class_backgrounds"]
    print(
        "\nclosing the loop:",
        json.dumps(
            {
                **figures,
                "avoid_lists_from_report": avoid,
                "demo_truth_own_backgrounds (printed only)": truth_own,
                "flagged_by_biased_model": job.result.get("flagged"),
                "counter_examples": job.result["images"],
                "seconds": round(time.monotonic() - started, 1),
            },
            indent=1,
        ),
    )
    assert before.params["include_synthetic"] is False and after.params["include_synthetic"] is False
    before_, after_ = figures["before"], figures["after"]
    assert after_["other_background_accuracy"] > before_["other_background_accuracy"]
    assert after_["top1"] > before_["top1"]
    on_train = figures["train_own_background_swap"]
    assert on_train["after"]["count"] == on_train["before"]["count"] > 100
    assert on_train["after"]["drop"] <= on_train["before"]["drop"]
    if on_train["before"]["drop"] >= 0.2:  # the biased model leaned on its backgrounds: the fix must cut that
        assert on_train["after"]["drop"] < on_train["before"]["drop"] - 0.1

    # The compare page shows both runs' worst-group accuracy and background-swap drop.
    client = Client()
    client.force_login(curator)
    page = client.get(f"/evaluations/compare/?runs={before.pk}&runs={after.pk}").content.decode()
    assert "Worst-group accuracy" in page or "worst-group accuracy" in page
    assert "Background-swap drop" in page
