"""The evaluate job end to end on a tiny version: every suite, the cache, bad input, cleanup after failure."""

import json
import time

import numpy as np
import pytest
import torch
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import ProtectedError

from core.api_errors import ApplicationError
from curation.demo.truth import TRUTH_FORMAT
from jobs.models import Job, JobStatus
from jobs.services import job_execute
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.services import evaluation_run_create
from robustness.services import load_trained_model

pytestmark = pytest.mark.django_db

FAST = {
    "corruptions": ["gaussian_noise", "contrast"],
    "severities": [1, 5],
    "eps": [0.0, 8 / 255],
    "device": "cpu",
}
ALL_SUITES = ["clean", "corruptions", "adversarial", "attributes"]


def stored_files(folder: str) -> list[str]:
    if not default_storage.exists(folder):
        return []
    folders, files = default_storage.listdir(folder)
    return [f"{folder}/{f}" for f in files] + [f for sub in folders for f in stored_files(f"{folder}/{sub}")]


def run_inline(run: EvaluationRun) -> EvaluationRun:
    job_execute(run.job_id)
    run.refresh_from_db()
    return run


def test_all_suites_run_and_store_results_and_examples(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 5, "dog": 5}, without_mask=2)
    trained = stored_model(["cat", "dog"])

    run = run_inline(
        evaluation_run_create(
            trained_model=trained,
            version=version,
            suites=ALL_SUITES,
            params=FAST,
            requested_by=admin_user,
            enqueue=False,
        )
    )

    assert run.job.status == JobStatus.SUCCEEDED, run.job.error
    assert set(run.results) == set(ALL_SUITES)
    assert run.results["clean"]["count"] == 10
    assert set(run.results["corruptions"]["corruptions"]) == {"gaussian_noise", "contrast"}
    assert set(run.results["corruptions"]["corruptions"]["contrast"]) == {"1", "5"}
    assert [p["eps"] for p in run.results["adversarial"]["curves"]["pgd"]] == [0.0, 8 / 255]
    assert run.results["adversarial"]["pgd_long"]["steps"] == 20
    assert run.results["attributes"]["with_masks"] == 8
    assert run.results["attributes"]["without_masks"] == 2
    assert set(run.results["attributes"]["edits"]) == {
        "null", "background_swap", "object_scale", "object_position", "object_rotation"
    }  # fmt: skip
    assert "corruptions/contrast/5" in run.examples and "adversarial/pgd/perturbation" in run.examples
    assert all(default_storage.exists(key) for key in run.examples.values())
    assert run.job.result["evaluation_run"] == run.pk


def test_clean_accuracy_equals_a_direct_forward_pass(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 4, "dog": 4})
    trained = stored_model(["dog", "cat"])  # class order differs from the dataset's: labels map by name

    run = run_inline(
        evaluation_run_create(trained_model=trained, version=version, suites=["clean"], params={"device": "cpu"},
                              requested_by=admin_user, enqueue=False)
    )  # fmt: skip

    model, classes, preprocessing = load_trained_model(trained)
    members = list(version.members.select_related("sample").order_by("sample_id"))
    from curation.services.ingest import sample_image_open

    pixels = torch.stack([preprocessing.pixels(sample_image_open(m.sample)) for m in members])
    with torch.no_grad():
        predicted = model(pixels).argmax(1).numpy()
    expected = float(np.mean([classes[p] == m.label for p, m in zip(predicted, members, strict=True)]))
    clean = run.results["clean"]
    assert clean["top1"] == pytest.approx(expected)
    assert clean["top5"] == 1.0  # two classes: the target is always in the top 2
    assert sum(map(sum, clean["confusion"])) == 8
    assert clean["multi_label"] is None and clean["groups"] is None


def test_robust_accuracy_never_exceeds_clean_and_the_null_edit_costs_little(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 6, "dog": 6})
    trained = stored_model(["cat", "dog"])

    run = run_inline(
        evaluation_run_create(trained_model=trained, version=version, suites=["adversarial", "attributes"],
                              params={**FAST, "eps": [0.0, 2 / 255, 8 / 255]}, requested_by=admin_user, enqueue=False)
    )  # fmt: skip

    clean = run.results["clean"]["top1"]
    adversarial = run.results["adversarial"]
    assert clean >= 0.75  # the fitted model mostly knows the object colours
    for curve in adversarial["curves"].values():
        assert curve[0]["robust_accuracy"] == pytest.approx(clean)  # ε = 0
        assert all(p["robust_accuracy"] <= clean for p in curve)
    edits = run.results["attributes"]["edits"]
    assert abs(edits["null"]["drop"]) <= 1 / 12


def test_corrupted_sets_are_cached_per_version_corruption_severity_and_seed(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 3, "dog": 3})
    params = {**FAST, "corruptions": ["gaussian_noise"], "severities": [2]}

    def evaluate(seed: int) -> EvaluationRun:
        return run_inline(
            evaluation_run_create(trained_model=stored_model(["cat", "dog"]), version=version, suites=["corruptions"],
                                  params={**params, "seed": seed}, requested_by=admin_user, enqueue=False)
        )  # fmt: skip

    first, second, reseeded = evaluate(0), evaluate(0), evaluate(1)

    assert first.results["corruptions"]["cache"] == {"hits": 0, "sets": 1}
    assert second.results["corruptions"]["cache"] == {"hits": 1, "sets": 1}
    assert reseeded.results["corruptions"]["cache"] == {"hits": 0, "sets": 1}
    assert first.results["corruptions"]["corruptions"] == second.results["corruptions"]["corruptions"]


def test_a_model_whose_classes_do_not_match_is_refused_before_any_job_exists(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "bird": 2})
    trained = stored_model(["cat", "dog"], fitted=False)
    jobs_before = Job.objects.count()

    with pytest.raises(ApplicationError) as raised:
        evaluation_run_create(trained_model=trained, version=version, suites=["clean"], requested_by=admin_user)

    assert raised.value.code == "classes_mismatch"
    assert "cannot predict bird" in raised.value.message
    assert raised.value.details["unknown_labels"] == ["bird"]
    assert EvaluationRun.objects.count() == 0 and Job.objects.count() == jobs_before


def test_a_run_with_mismatched_classes_fails_within_seconds_with_the_reason(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 2, "bird": 2})
    good = stored_model(["cat", "bird"], fitted=False)
    run = evaluation_run_create(trained_model=good, version=version, suites=["clean"], requested_by=admin_user,
                                enqueue=False)  # fmt: skip
    run.trained_model = stored_model(["cat", "dog"], fitted=False)  # as if the run were created another way
    run.save()

    started = time.monotonic()
    run = run_inline(run)

    assert time.monotonic() - started < 5
    assert run.job.status == JobStatus.FAILED
    assert "cannot predict bird" in run.job.error
    assert run.results == {}


def test_a_failing_suite_leaves_no_results_or_example_images(eval_version, stored_model, admin_user, monkeypatch):
    version = eval_version({"cat": 3, "dog": 3})
    run = evaluation_run_create(trained_model=stored_model(["cat", "dog"], fitted=False), version=version,
                                suites=ALL_SUITES, params=FAST, requested_by=admin_user, enqueue=False)  # fmt: skip

    def broken(*args, **kwargs):
        raise RuntimeError("edit exploded")

    monkeypatch.setattr("robustness.evaluation.services.runs.attribute_results", broken)
    run = run_inline(run)

    assert run.job.status == JobStatus.FAILED
    assert "edit exploded" in run.job.error
    assert run.results == {} and run.examples == {}
    assert stored_files(f"evaluation/runs/{run.pk}") == []


@pytest.mark.parametrize(
    ("suites", "params", "code"),
    [
        (["clean", "weather"], {}, "invalid_suites"),
        (["corruptions"], {"severities": [0]}, "invalid_params"),
        (["corruptions"], {"corruptions": ["rain"]}, "invalid_params"),
        (["adversarial"], {"eps": [2.0]}, "invalid_params"),
        (["attributes"], {"edits": ["recolour"]}, "invalid_params"),
        (["clean"], {"split": "holdout"}, "invalid_params"),
        (["clean"], {"split": "train"}, "empty_split"),
        (["clean"], {"batchsize": 3}, "invalid_params"),
    ],
)
def test_bad_requests_are_refused_with_a_stable_code(eval_version, stored_model, admin_user, suites, params, code):
    version = eval_version({"cat": 1, "dog": 1})
    trained = stored_model(["cat", "dog"], fitted=False)

    with pytest.raises(ApplicationError) as raised:
        evaluation_run_create(trained_model=trained, version=version, suites=suites, params=params,
                              requested_by=admin_user)  # fmt: skip

    assert raised.value.code == code
    assert EvaluationRun.objects.count() == 0


def test_corruptions_need_inputs_of_at_least_32_px(eval_version, stored_model, admin_user):
    trained = stored_model(["cat", "dog"], img_size=16, fitted=False)

    with pytest.raises(ApplicationError, match="at least 32 px"):
        evaluation_run_create(trained_model=trained, version=eval_version({"cat": 1}), suites=["corruptions"],
                              requested_by=admin_user)  # fmt: skip


def test_only_admins_may_start_an_evaluation(eval_version, stored_model, curator):
    with pytest.raises(ApplicationError) as raised:
        evaluation_run_create(trained_model=stored_model(["cat", "dog"], fitted=False),
                              version=eval_version({"cat": 1}), suites=["clean"], requested_by=curator)  # fmt: skip

    assert raised.value.status_code == 403
    assert EvaluationRun.objects.count() == 0


def test_a_model_or_version_with_reports_cannot_be_deleted(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 1, "dog": 1})
    trained = stored_model(["cat", "dog"], fitted=False)
    evaluation_run_create(trained_model=trained, version=version, suites=["clean"], requested_by=admin_user,
                          enqueue=False)  # fmt: skip

    with pytest.raises(ProtectedError):
        trained.delete()
    with pytest.raises(ProtectedError):
        version.delete()


def test_multi_label_sets_add_real_and_class_averaged_accuracy(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 3, "dog": 3})
    for member in version.members.filter(label="cat")[:2]:  # two cats also show a dog
        member.labels = [*member.labels, {"label": "dog", "origin": "import"}]
        member.save(update_fields=["labels"])

    run = run_inline(
        evaluation_run_create(trained_model=stored_model(["cat", "dog"]), version=version, suites=["clean"],
                              params={"device": "cpu"}, requested_by=admin_user, enqueue=False)
    )  # fmt: skip

    clean = run.results["clean"]
    multi = clean["multi_label"]
    assert multi["multi_label_samples"] == 2 and multi["real_count"] == 6
    assert clean["top1"] <= multi["real_top1"] <= 1.0  # a set holds the primary label and more
    assert multi["real_top5"] == 1.0
    assert set(multi["class_averaged_per_class"]) == {"cat", "dog"}


def test_demo_truth_gives_class_by_background_groups(eval_version, stored_model, admin_user):
    version = eval_version({"cat": 3, "dog": 3})
    members = list(version.members.select_related("sample").order_by("sample_id"))
    records = {
        f"f{i}.png": {"sha256": m.sample.sha256, "class": m.label, "own_background": i % 3 == 0, "background": f"b{i}"}
        for i, m in enumerate(members)
    }
    key = "demo/test-truth.json"
    default_storage.save(key, ContentFile(json.dumps({"format": TRUTH_FORMAT, "samples": records}).encode()))
    version.operation_params = {"truth_key": key}
    version.save(update_fields=["operation_params"])

    run = run_inline(
        evaluation_run_create(trained_model=stored_model(["cat", "dog"]), version=version, suites=["clean"],
                              params={"device": "cpu"}, requested_by=admin_user, enqueue=False)
    )  # fmt: skip

    groups = run.results["clean"]["groups"]
    assert {name: g["count"] for name, g in groups["groups"].items()} == {
        "cat / own background": 1, "cat / other background": 2, "dog / own background": 1, "dog / other background": 2
    }  # fmt: skip
    assert groups["own_background"]["count"] == 2 and groups["other_background"]["count"] == 4
    assert groups["gap"] == pytest.approx(groups["mean_accuracy"] - groups["worst_accuracy"])
