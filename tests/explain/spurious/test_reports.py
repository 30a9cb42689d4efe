"""The find_spurious job end to end on tiny versions: what is measured and stored, bad input, cancel and cleanup.

The versions come from the evaluation tests (tests/robustness/evaluation/conftest.py): class-coloured
squares on a seeded grey texture, 40 px, each with its mask unless asked otherwise.
"""

import numpy as np
import pytest
from django.core.files.storage import default_storage

from core.api_errors import ApplicationError
from curation.models import Sample
from explain.spurious import job_kinds
from explain.spurious.models import SpuriousReport
from explain.spurious.services import FIND_SPURIOUS_JOB_KIND, spurious_report_create
from explain.spurious.services.features import SOURCE_CAPTIONS, SOURCE_GENERIC, caption_background
from jobs.models import Job, JobStatus
from jobs.services import job_execute

pytestmark = pytest.mark.django_db

CPU = {"device": "cpu", "min_support": 2}


def run_inline(report: SpuriousReport, **kwargs) -> SpuriousReport:
    job_execute(report.job_id, **kwargs)
    report.refresh_from_db()
    return report


def test_samples_without_masks_are_left_out_with_a_reason_and_the_rest_is_reported(
    eval_version, stored_model, admin_user
):
    version = eval_version({"cat": 5, "dog": 5}, split="train", without_mask=3)
    trained = stored_model(["cat", "dog"])
    unmasked = sorted(Sample.objects.filter(mask_key="").values_list("pk", flat=True))

    report = run_inline(
        spurious_report_create(trained_model=trained, version=version, params=CPU, requested_by=admin_user,
                               enqueue=False)
    )  # fmt: skip

    assert report.status == JobStatus.SUCCEEDED, report.job.error
    results = report.results
    assert report.split == "train" and results["samples"] == 10 and results["with_masks"] == 7
    assert results["left_out"]["count"] == 3
    assert results["left_out"]["reasons"] == {"no mask": 3}
    assert sorted(e["sample_id"] for e in results["left_out"]["samples"]) == unmasked
    assert results["feature_source"] == SOURCE_GENERIC
    assert results["objects"]["available"] is False and "object features are left out" in results["objects"]["note"]
    taking_part = sum(r["images"] for r in results["rankings"].values())
    assert taking_part == results["taking_part"] == 7 - sum(r["misclassified"] for r in results["rankings"].values())
    assert results["groups"] is None and results["pull"] is None  # one generic feature: nothing to group or pull
    assert report.job.result["spurious_report"] == report.pk


def test_the_generic_background_is_ranked_with_flip_rate_null_rate_support_and_examples(
    eval_version, stored_model, admin_user
):
    version = eval_version({"cat": 4, "dog": 4}, split="train")
    trained = stored_model(["cat", "dog"])

    report = run_inline(
        spurious_report_create(trained_model=trained, version=version, params={**CPU, "swaps_per_image": 2},
                               requested_by=admin_user, enqueue=False)
    )  # fmt: skip

    for name, ranking in report.results["rankings"].items():
        if ranking["images"] < 2:
            continue
        top = ranking["ranked"][0]
        assert (top["kind"], top["value"], top["rank"]) == ("background", "background", 1)
        assert top["support"] == ranking["images"] and top["edits"] == 2 * ranking["images"]
        assert 0.0 <= top["ci_low"] <= top["flip_rate"] <= top["ci_high"] <= 1.0
        assert top["score"] == pytest.approx(top["flip_rate"] - ranking["null_flip_rate"])
        example = top["examples"][0]
        assert example["prediction_before"] == name and example["edit"] == "background"
        assert example["swapped_to"].startswith("sample:") and example["swapped_to"] != f"sample:{example['sample_id']}"
        assert {example["original"], example["edited"]} <= set(report.examples)
    assert report.examples and all(default_storage.exists(key) for key in report.examples.values())


def test_caption_backgrounds_become_features_and_groups(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 4, "dog": 4}, split="train")
    trained = stored_model(["cat", "dog"])
    for member in version.members.select_related("sample"):
        place = "snowy field" if member.sample_id % 2 else "brick wall"
        Sample.objects.filter(pk=member.sample_id).update(
            caption=f"a photo of a {member.label} on a {place} background"
        )

    report = run_inline(
        spurious_report_create(trained_model=trained, version=version, params=CPU, requested_by=admin_user,
                               enqueue=False)
    )  # fmt: skip

    results = report.results
    assert results["feature_source"] == SOURCE_CAPTIONS
    values = {f["value"] for r in results["rankings"].values() for f in r["ranked"] + r["low_support"]}
    assert values <= {"snowy field", "brick wall"} and values
    assert set(results["groups"]["groups"]) <= {f"{c} / {p} background" for c in ("cat", "dog")
                                                for p in ("snowy field", "brick wall")}  # fmt: skip
    assert sum(g["count"] for g in results["groups"]["groups"].values()) == 8
    assert set(results["pull"]["rows"]) == {"snowy field", "brick wall"}
    # A swap never brings back a background of the same name.
    for ranking in results["rankings"].values():
        for feature in ranking["ranked"]:
            for example in feature.get("examples", []):
                assert example["swapped_to"] != feature["value"]


def test_caption_background_parsing():
    assert caption_background("a photo of a badger and a cup on a green meadow background") == "green meadow"
    assert caption_background("a cat on an old brick wall background.") == "old brick wall"
    assert caption_background("a cat sitting on a sofa") is None
    assert caption_background("") is None


def test_a_version_without_any_mask_is_refused_before_any_job_exists(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2}, split="train", without_mask=4)
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(ApplicationError) as refused:
        spurious_report_create(trained_model=trained, version=version, params=CPU, requested_by=admin_user)

    assert refused.value.code == "no_masks" and refused.value.status_code == 400
    assert "has an object mask" in refused.value.message
    assert refused.value.details == {"labelled_samples": 4, "with_masks": 0, "masks": "auto"}
    assert SpuriousReport.objects.count() == 0 and Job.objects.filter(kind=FIND_SPURIOUS_JOB_KIND).count() == 0


def test_a_model_whose_classes_do_not_match_is_refused_before_any_job_exists(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "bird": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(ApplicationError) as refused:
        spurious_report_create(trained_model=trained, version=version, params=CPU, requested_by=admin_user)

    assert refused.value.code == "classes_mismatch"
    assert refused.value.details == {"model_classes": ["cat", "dog"], "unknown_labels": ["bird"]}
    assert SpuriousReport.objects.count() == 0 and Job.objects.filter(kind=FIND_SPURIOUS_JOB_KIND).count() == 0


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"swaps_per_image": 0}, "swaps_per_image must be a positive integer"),
        ({"min_support": "five"}, "min_support must be a positive integer"),
        ({"split": "holdout"}, "Unknown split 'holdout'"),
        ({"pull": "yes"}, "pull must be true or false"),
        ({"colour": 1}, "Unknown parameter(s): colour"),
        ({"device": "tpu"}, "device must be auto, cpu, cuda or cuda:N"),
    ],
)
def test_bad_parameters_are_refused_with_a_reason(eval_version, stored_model, admin_user, params, fragment):
    version = eval_version({"cat": 1, "dog": 1}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(ApplicationError) as refused:
        spurious_report_create(trained_model=trained, version=version, params=params, requested_by=admin_user)

    assert refused.value.code == "invalid_params" and fragment in refused.value.message
    assert SpuriousReport.objects.count() == 0


def test_auto_split_is_train_when_present_else_every_member(eval_version, stored_model, admin_user):
    trained = stored_model(["cat", "dog"], fitted=False)
    with_train = eval_version({"cat": 1, "dog": 1}, split="train")
    without_train = eval_version({"cat": 1, "dog": 1}, split="test")

    first = spurious_report_create(trained_model=trained, version=with_train, requested_by=admin_user, enqueue=False)
    second = spurious_report_create(
        trained_model=trained, version=without_train, requested_by=admin_user, enqueue=False
    )

    assert (first.split, second.split) == ("train", "all")
    assert first.params["swaps_per_image"] == 3 and first.params["min_support"] == 5 and first.params["pull"] is True


def stored_files(folder: str) -> list[str]:
    if not default_storage.exists(folder):
        return []
    folders, files = default_storage.listdir(folder)
    return [f"{folder}/{f}" for f in files] + [f for sub in folders for f in stored_files(f"{folder}/{sub}")]


def captioned_version(eval_version, counts: dict[str, int]):
    """A train version whose captions name two backgrounds (so the background pull runs too)."""
    version = eval_version(counts, split="train")
    for member in version.members.all():
        place = "snowy field" if member.sample_id % 2 else "brick wall"
        Sample.objects.filter(pk=member.sample_id).update(caption=f"a {member.label} on a {place} background")
    return version


@pytest.fixture
def cancel_checked_at_every_boundary(monkeypatch):
    """The runner re-reads the cancel flag at most every SYNC_INTERVAL_S; here at every batch boundary."""
    monkeypatch.setattr("jobs.services.runner.SYNC_INTERVAL_S", 0.0)


def test_a_cancel_between_batches_stops_the_job_and_leaves_nothing_written(
    eval_version, stored_model, admin_user, cancel_checked_at_every_boundary
):
    version = captioned_version(eval_version, {"cat": 6, "dog": 6})
    report = spurious_report_create(
        trained_model=stored_model(["cat", "dog"]), version=version, params={**CPU, "batch_size": 4},
        requested_by=admin_user, enqueue=False,
    )  # fmt: skip
    messages: list[str] = []

    def cancel_during_the_flip_test(done: int, total: int, message: str) -> None:
        messages.append(message)
        if message.startswith("flip test"):
            Job.objects.filter(pk=report.job_id).update(cancel_requested=True)

    report = run_inline(report, progress_callback=cancel_during_the_flip_test)

    assert report.status == JobStatus.CANCELLED
    flip_test = [m for m in messages if m.startswith("flip test")]
    assert len(flip_test) == 1 and flip_test[0].startswith("flip test, images: 1 of ")  # batches of 1 image: 4 // 5
    assert not any(m.startswith("background pull") for m in messages)
    assert report.results == {} and report.examples == {} and report.finished_at is None
    assert stored_files(f"spurious/reports/{report.pk}") == []


def test_a_cancel_after_the_examples_were_stored_removes_them_and_the_results(
    eval_version, stored_model, admin_user, cancel_checked_at_every_boundary
):
    version = captioned_version(eval_version, {"cat": 4, "dog": 4})
    report = spurious_report_create(trained_model=stored_model(["cat", "dog"]), version=version, params=CPU,
                                    requested_by=admin_user, enqueue=False)  # fmt: skip
    written: list[str] = []

    def cancel_at_the_last_step(done: int, total: int, message: str) -> None:
        if message == "report stored":
            written.extend(stored_files(f"spurious/reports/{report.pk}"))
            Job.objects.filter(pk=report.job_id).update(cancel_requested=True)

    report = run_inline(report, progress_callback=cancel_at_the_last_step)

    assert report.status == JobStatus.CANCELLED
    assert written  # the examples were in storage when the cancel came
    assert report.results == {} and report.examples == {} and report.finished_at is None
    assert stored_files(f"spurious/reports/{report.pk}") == []


def test_a_model_that_cannot_be_loaded_fails_with_the_reason_and_writes_nothing(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "dog": 2}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)
    default_storage.delete(trained.checkpoint_best_key)
    report = spurious_report_create(trained_model=trained, version=version, params=CPU, requested_by=admin_user,
                                    enqueue=False)  # fmt: skip

    report = run_inline(report)

    assert report.status == JobStatus.FAILED
    assert report.job.error.startswith(f"cannot load model {trained.name!r}")
    assert report.results == {} and report.examples == {}


def test_the_job_kind_runs_on_the_gpu_queue_for_admins_and_the_service_names_it_alike():
    from jobs.runtime import job_kind_get

    kind = job_kind_get(FIND_SPURIOUS_JOB_KIND)

    assert job_kinds.FIND_SPURIOUS_JOB_KIND == FIND_SPURIOUS_JOB_KIND == "find_spurious"
    assert (kind.queue, kind.capability) == ("gpu", "run_gpu_jobs")
    assert kind.cleanup is not None


def test_reports_protect_their_model_and_version(eval_version, stored_model, admin_user):
    from django.db.models import ProtectedError

    version = eval_version({"cat": 1, "dog": 1}, split="train")
    trained = stored_model(["cat", "dog"], fitted=False)
    spurious_report_create(trained_model=trained, version=version, requested_by=admin_user, enqueue=False)

    with pytest.raises(ProtectedError):
        trained.delete()
    assert np.asarray(SpuriousReport.objects.values_list("trained_model_id", flat=True)).tolist() == [trained.pk]


def test_registering_the_job_kind_imports_neither_the_flip_test_nor_the_job_service():
    import os
    import subprocess
    import sys

    from django.conf import settings

    code = (
        "import sys, django; django.setup(); from jobs.runtime import JOB_KINDS; "
        "print('find_spurious' in JOB_KINDS, 'explain.spurious.ml.flip_test' in sys.modules, "
        "'explain.spurious.services.reports' in sys.modules)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"}
    env |= {
        name: os.environ[name] for name in ("DATABASE_URL", "CELERY_BROKER_URL", "WINNOW_VAR_DIR") if name in os.environ
    }

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=settings.BASE_DIR, env=env)

    assert out.stdout.strip() == "True False False", out.stderr[-2000:]
