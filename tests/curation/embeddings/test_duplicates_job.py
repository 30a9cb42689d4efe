"""The `find_duplicates` job: groups at a given or calibrated threshold, exact groups, bad input, the command."""

import json

import pytest
from django.core.management import call_command

from core.api_errors import ApplicationError
from core.storage import blob_read
from curation.demo.plan import DemoConfig
from curation.demo.truth import truth_groups, truth_loads
from curation.embeddings.models import DuplicateGroup, DuplicateRun
from curation.embeddings.selectors import embedding_set_arrays
from curation.embeddings.services.duplicates import (
    FIND_DUPLICATES_JOB_KIND,
    DuplicateParams,
    duplicate_params_validate,
)
from curation.services.demo import demo_dataset_build
from jobs.models import JobStatus
from jobs.services import job_create, job_execute
from tests.curation.embeddings.conftest import embed, media_path


def run_duplicates(params: DuplicateParams):
    job = job_create(kind=FIND_DUPLICATES_JOB_KIND, params=params.as_job_params(), requested_by=None)
    return job_execute(job.pk)


def test_near_and_exact_groups_at_a_given_threshold(version_with_copies, encoder_name):
    version, samples, copies = version_with_copies
    embedding_set = embed(version, encoder_name)

    job = run_duplicates(DuplicateParams(embedding_set_id=embedding_set.pk, threshold=0.9995))

    assert job.status == JobStatus.SUCCEEDED, job.error
    run = DuplicateRun.objects.get(job=job)
    groups = list(run.groups.values_list("number", "kind", "sample_ids", "file_names"))
    assert groups == [
        (1, "near", [samples[1].pk, copies[0].pk], []),
        (2, "near", [samples[4].pk, copies[1].pk], []),
        (3, "exact", [samples[2].pk], ["p2.png", "again/p2.png"]),
    ]
    pair = run.groups.get(number=1).pairs[0]
    assert pair[:2] == [samples[1].pk, copies[0].pk] and pair[2] >= 0.9995
    assert pair[3] == 1.0  # the same pixels: the verification confirms the copy
    assert (run.threshold, run.threshold_source, run.truth) == (0.9995, "user", None)
    assert run.verify_threshold == run.calibration["verification"]["threshold"]  # the user gave only the cosine
    assert (run.exact_group_count, run.near_group_count, run.near_duplicate_samples) == (1, 2, 4)
    assert run.search["method"] == "exact" and run.search["verified"] == 2 and run.search["recall"] == {}
    assert job.result["duplicate_run"] == run.pk and job.result["calibration"]["cached"] is False


def test_the_threshold_is_calibrated_on_perturbed_copies_when_none_is_given(version_with_copies, encoder_name):
    version, _, _ = version_with_copies
    embedding_set = embed(version, encoder_name)

    job = run_duplicates(DuplicateParams(embedding_set_id=embedding_set.pk, calibration_images=3, target=0.9))

    assert job.status == JobStatus.SUCCEEDED, job.error
    run = DuplicateRun.objects.get(job=job)
    calibration = run.calibration
    assert run.threshold_source == "calibrated"
    assert run.threshold == pytest.approx(calibration["threshold"])
    assert (calibration["pairs"], calibration["neighbours"], calibration["target"]) == (12, 3, 0.9)
    assert calibration["caught"] >= 0.9
    assert sorted(calibration["per_kind"]) == ["crop", "jpeg", "resize", "shift"]
    assert sum(calibration["pair_histogram"]) == 12 and sum(calibration["neighbour_histogram"]) == 3
    assert min(kind["min_similarity"] for kind in calibration["per_kind"].values()) >= run.threshold - 1e-6 or (
        calibration["caught"] < 1.0
    )
    verification = calibration["verification"]
    assert verification["pairs"] == 12 and verification["threshold"] == 0.68  # a measured constant, not fitted
    assert job.result["calibration"] == {
        "target": 0.9,
        "pairs": 12,
        "caught": calibration["caught"],
        "neighbours_flagged": calibration["neighbours_flagged"],
        "cached": False,
        "verification": {key: verification[key] for key in ("threshold", "caught", "neighbours_flagged")},
    }


def test_a_corrupt_npy_fails_the_job_clearly_and_writes_no_run(version_with_copies, encoder_name, settings):
    version, _, _ = version_with_copies
    embedding_set = embed(version, encoder_name)
    path = media_path(settings, embedding_set.embeddings_key)
    path.write_bytes(path.read_bytes()[:-16] + bytes(16))

    job = run_duplicates(DuplicateParams(embedding_set_id=embedding_set.pk, threshold=0.99))

    assert job.status == JobStatus.FAILED
    assert job.error.startswith(f"{embedding_set.embeddings_key} is corrupt: its sha256 is ")
    assert job.error.endswith("; embed the version again")
    assert DuplicateRun.objects.count() == 0 and DuplicateGroup.objects.count() == 0


def test_bad_parameters_are_refused_before_a_job(version_with_copies, encoder_name):
    version, _, _ = version_with_copies
    embedding_set = embed(version, encoder_name)

    refusals = {}
    for name, kwargs in {
        "threshold": {"threshold": 1.5},
        "target": {"target": 0.2},
        "method": {"method": "annoy"},
        "unknown": {"embedding_set_id": 10**9},
    }.items():
        with pytest.raises(ApplicationError) as refused:
            duplicate_params_validate(**{"embedding_set_id": embedding_set.pk, **kwargs})
        refusals[name] = (refused.value.code, refused.value.message)

    assert refusals == {
        "threshold": ("invalid", "threshold is a cosine between -1 and 1, got 1.5"),
        "target": ("invalid", "target must lie between 0.5 and 1, got 0.2"),
        "method": ("invalid", "method must be one of auto, exact, cells, got 'annoy'"),
        "unknown": ("not_found", f"embedding set {10**9} does not exist"),
    }


def test_the_find_duplicates_command_prints_a_json_summary(version_with_copies, encoder_name, admin_user, capsys):
    admin_user.is_superuser = True
    admin_user.save()
    version, _, _ = version_with_copies
    embedding_set = embed(version, encoder_name)

    call_command("find_duplicates", str(embedding_set.pk), "--threshold", "0.9995")

    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    run = DuplicateRun.objects.get()
    assert summary["duplicate_run"] == run.pk
    assert (summary["near_groups"], summary["exact_groups"], summary["threshold_source"]) == (2, 1, "user")
    assert len(embedding_set_arrays(embedding_set).row_ids) == 8


def test_on_the_demo_dataset_the_run_reports_precision_and_recall_against_its_truth(encoder_name, db):
    demo = demo_dataset_build(config=DemoConfig(seed=0, size=60), name="demo-for-duplicates")
    truth = truth_loads(blob_read(demo.version.operation_params["truth_key"]))
    embedding_set = embed(demo.version, encoder_name, chunk_size=64)

    job = run_duplicates(DuplicateParams(embedding_set_id=embedding_set.pk, threshold=0.9995))

    assert job.status == JobStatus.SUCCEEDED, job.error
    metrics = DuplicateRun.objects.get(job=job).truth
    near_groups = truth_groups(truth, "near_duplicate_group")
    samples_per_group = [{truth["samples"][name]["sha256"] for name in names} for names in near_groups.values()]
    truth_pairs = sum(len(group) * (len(group) - 1) // 2 for group in samples_per_group)
    exact_groups = len(truth_groups(truth, "exact_duplicate_group"))
    assert metrics["near_groups"]["truth"] == len(near_groups) == truth["summary"]["near_duplicate_groups"]
    pairs = metrics["near_pairs"]
    assert pairs["true_positives"] + pairs["false_negatives"] == truth_pairs
    assert pairs["recall"] == round(pairs["true_positives"] / truth_pairs, 4)
    edges = metrics["near_edges"]
    assert edges["true_positives"] + edges["false_negatives"] == truth_pairs
    assert edges["true_positives"] <= pairs["true_positives"] and edges["false_positives"] <= pairs["false_positives"]
    assert metrics["exact_groups"] == {
        "true_positives": exact_groups,
        "false_positives": 0,
        "false_negatives": 0,
        "precision": 1.0,
        "recall": 1.0,
    }
    assert job.result["truth"] == metrics
