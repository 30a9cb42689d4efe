"""Pruning touches the train split only unless widened; classes losing over half are named; the kept count is explained.

small_version: 60 members, splits train, train, val cycled (40 train, 20 val), labels cat, dog, fox cycled.
"""

import json
import re
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from core.api_errors import ApplicationError
from curation.ml.pruning import PruneReason
from curation.models import VersionSample
from curation.pruning.blobs import arrays_load
from curation.pruning.models import PruneDecision
from curation.pruning.services.apply import prune_run_apply
from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.params import cluster_params_validate, prune_params_validate
from curation.pruning.services.pruning import prune_run_create
from curation.pruning.services.splits import class_loss_warnings, keep_explanation
from jobs.models import Job
from tests.curation.pruning.factories import clustered_vectors, embedding_set_create, version_with_samples


def _decisions_by_split(run) -> dict[str, list[tuple[bool, int]]]:
    splits = dict(VersionSample.objects.filter(version_id=run.version_id).values_list("sample_id", "split"))
    table: dict[str, list[tuple[bool, int]]] = {}
    for decision in PruneDecision.objects.filter(prune_run=run).order_by("sample_id"):
        table.setdefault(splits[decision.sample_id], []).append((decision.keep, decision.reason))
    return table


def _cli(*args) -> dict:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_default_prunes_train_only_and_keeps_every_val_member_with_its_reason(small_version):
    version, _, _ = small_version

    params = prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5)
    run = prune_run_create(params=params)
    applied = prune_run_apply(prune_run=run)

    by_split = _decisions_by_split(run)
    assert params.splits == ("train",) and run.params["splits"] == ["train"]
    assert by_split["val"] == [(True, PruneReason.OUTSIDE_PRUNED_SPLITS)] * 20
    assert sum(keep for keep, _ in by_split["train"]) == 20
    assert {reason for _, reason in by_split["train"]} == {PruneReason.KEPT, PruneReason.RANDOM_DROP}
    assert (run.n_candidates, run.n_kept) == (60, 40)
    assert run.summary["pruned"] == {"splits": ["train"], "n_candidates": 40, "n_kept": 20, "kept_fraction": 0.5}
    assert run.summary["outside_splits"] == {"val": 20}
    assert run.summary["reasons"] == {"kept": 20, "random_drop": 20, "outside_pruned_splits": 20}
    assert VersionSample.objects.filter(version=applied, split="val").count() == 20
    assert VersionSample.objects.filter(version=applied, split="train").count() == 20


def test_widening_to_val_prunes_val_too(small_version):
    version, _, _ = small_version

    params = prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5, splits=["val", "train"])
    run = prune_run_create(params=params)

    by_split = _decisions_by_split(run)
    assert params.splits == ("train", "val")
    assert (run.n_candidates, run.n_kept) == (60, 30)
    assert sum(not keep for keep, _ in by_split["val"]) > 0
    assert PruneReason.OUTSIDE_PRUNED_SPLITS not in {reason for rows in by_split.values() for _, reason in rows}
    assert run.summary["outside_splits"] == {}


def test_a_class_losing_more_than_half_is_warned_in_summary_cli_and_page(db, curator, client):
    # 10 "copies" members share one embedding: SemDeDup keeps one of them; the 20 "other" are spread apart.
    version = version_with_samples(30, labels=["copies"] * 10 + ["other"] * 20)
    vectors, _ = clustered_vectors([10, 20], d=16, spread=[0.6, 0.6], seed=3)
    vectors[:10] = vectors[0]
    embedding_set_create(version=version, vectors=vectors)

    result = _cli("prune", str(version.pk), "--method", "semdedup", "--eps", "0.05", "--user", curator.username)

    expected = (
        "Class 'copies' loses 9 of its 10 samples in the pruned splits (90%); check that this is intended "
        "before applying."
    )
    assert result["warnings"] == [expected]
    client.force_login(curator)
    html = client.get(f"/prune-runs/{result['prune_run']}/").content.decode()
    assert 'data-warning="class-loss"' in html and "loses 9 of its 10 samples" in html


def test_the_run_says_why_keep_0_8_kept_fewer_than_0_8_of_the_version(small_version, curator, client):
    version, _, _ = small_version

    run = prune_run_create(params=prune_params_validate(version_id=version.pk, method="dbp", keep_fraction=0.8))

    expected = (
        "dbp keeps floor(0.8 × 40) = 32; kept 32 of 40 in the pruned splits; 20 val samples were not pruned, "
        "so 52 of 60 are kept (0.867)."
    )
    assert run.summary["keep_explanation"] == expected
    assert run.summary["pruned"]["n_kept"] == 32 and run.n_kept == 52
    client.force_login(curator)
    html = client.get(f"/prune-runs/{run.pk}/").content.decode()
    assert "Pruned splits: train." in html and expected in html


def test_the_explanation_names_exact_copies_when_semdedup_cannot_reach_the_fraction():
    target = {"n_target": 8, "n_reachable": 5, "target_met": False}

    line = keep_explanation(
        method="semdedup", keep_fraction=0.8, scope_counts=(10, 5), outside={"test": 3, "val": 2}, target=target
    )

    assert line == (
        "keep 0.8 asked for 8 of 10; semdedup kept 5: exact copies make 0.8 unreachable (at most 5); "
        "3 test, 2 val samples were not pruned, so 10 of 15 are kept (0.667)."
    )


def test_api_form_and_cli_take_splits_with_the_same_default(small_version, curator, client):
    version, _, _ = small_version
    api = APIClient()
    api.force_authenticate(curator)
    client.force_login(curator)
    prune_page = f"/datasets/{version.dataset_id}/v/1/prune/"

    api_default = api.post("/api/prune-runs/", {"version": version.pk, "method": "random"}, format="json")
    api_wide = api.post(
        "/api/prune-runs/", {"version": version.pk, "method": "random", "splits": ["val", "train"]}, format="json"
    )
    form_html = client.get(prune_page).content.decode()
    checked = re.findall(r'<input type="checkbox" name="splits" value="(\w+)"[^>]*\bchecked\b', form_html)
    client.post(prune_page, {"method": "random", "keep_fraction": "0.5", "splits": checked})
    client.post(prune_page, {"method": "random", "keep_fraction": "0.5", "splits": ["train", "val"]})
    cli_default = _cli("prune", str(version.pk), "--method", "random", "--enqueue", "--user", curator.username)
    cli_wide = _cli(
        "prune", str(version.pk), "--method", "random", "--split", "val", "--split", "train", "--enqueue",
        "--user", curator.username,
    )  # fmt: skip

    assert api_default.status_code == api_wide.status_code == 202
    assert checked == ["train"]
    jobs = list(Job.objects.filter(kind="prune").order_by("pk"))
    assert (jobs[0].pk, jobs[1].pk) == (api_default.json()["job"], api_wide.json()["job"])
    assert (jobs[4].pk, jobs[5].pk) == (cli_default["job"], cli_wide["job"])
    assert [job.params["splits"] for job in jobs] == [["train"], ["train", "val"]] * 3


def test_a_version_without_train_samples_is_refused_unless_splits_are_chosen(db, curator):
    version = version_with_samples(12, splits=["unassigned", "unassigned", "test"])
    api = APIClient()
    api.force_authenticate(curator)

    with pytest.raises(ApplicationError) as refused:
        prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5)
    response = api.post("/api/prune-runs/", {"version": version.pk, "method": "random"}, format="json")
    chosen = prune_params_validate(version_id=version.pk, method="random", keep_fraction=0.5, splits=["unassigned"])
    run = prune_run_create(params=chosen)

    assert refused.value.code == "no_samples_in_splits"
    assert "has no train samples (splits present: test (4), unassigned (8))" in refused.value.message
    assert response.status_code == 400 and response.json()["error"]["code"] == "no_samples_in_splits"
    assert Job.objects.filter(kind="prune").count() == 0
    assert (run.n_candidates, run.n_kept, run.summary["outside_splits"]) == (12, 8, {"test": 4})
    assert np.isclose(run.summary["pruned"]["kept_fraction"], 0.5)


def test_class_loss_warnings_name_the_hardest_hit_ten_and_count_the_rest():
    losses = {f"c{i:02d}": (10, 6) for i in range(12)} | {"worst": (4, 4), "half": (10, 5), "mild": (10, 4)}

    warnings = class_loss_warnings(losses)

    assert len(warnings) == 11
    assert warnings[0] == (
        "Class 'worst' loses 4 of its 4 samples in the pruned splits (100%); "
        "check that this is intended before applying."
    )
    assert [w.split("'")[1] for w in warnings[1:10]] == [f"c{i:02d}" for i in range(9)]
    assert warnings[10] == "3 more classes lose more than half of their samples in the pruned splits."


def test_semdedup_then_dbp_explains_the_fraction_of_the_dedup_survivors(small_version):
    version, _, _ = small_version

    run = prune_run_create(
        params=prune_params_validate(version_id=version.pk, method="semdedup+dbp", keep_fraction=0.5, n_clusters=3)
    )

    survivors = next(stage["n_candidates"] for stage in run.summary["stages"] if stage["method"] == "dbp")
    assert survivors < 40  # sample 6 is an exact copy of sample 4, both train
    assert run.summary["pruned"]["n_kept"] == survivors // 2
    assert run.summary["keep_explanation"] == (
        f"semdedup+dbp: the dedup stages keep {survivors} of 40, then DBP keeps floor(0.5 × {survivors}) = "
        f"{survivors // 2}; kept {survivors // 2} of 40 in the pruned splits; 20 val samples were not pruned, "
        f"so {survivors // 2 + 20} of 60 are kept ({(survivors // 2 + 20) / 60:.3f})."
    )


def test_a_reused_cluster_run_serves_the_train_split_alone(small_version):
    version, embedding_set, _ = small_version
    cluster_run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=4)
    )

    run = prune_run_create(
        params=prune_params_validate(
            version_id=version.pk, method="dbp", keep_fraction=0.5, cluster_run_id=cluster_run.pk
        )
    )

    stored = arrays_load(cluster_run.assignment_key)
    assigned = dict(zip(stored["sample_ids"].tolist(), stored["cluster"].tolist(), strict=True))
    splits = dict(VersionSample.objects.filter(version=version).values_list("sample_id", "split"))
    decisions = list(PruneDecision.objects.filter(prune_run=run).values_list("sample_id", "cluster", "reason"))
    assert [(c, r) for s, c, r in decisions if splits[s] == "val"] == [(None, PruneReason.OUTSIDE_PRUNED_SPLITS)] * 20
    assert all(c == assigned[s] for s, c, _ in decisions if splits[s] == "train")
    assert run.summary["pruned"]["n_kept"] == 20 and run.n_kept == 40
