"""Cluster and prune runs end to end through the services, on PostgreSQL with real blobs."""

import numpy as np
import pytest
from django.core.files.storage import default_storage

from core.api_errors import ApplicationError
from curation.ml.clustering import l2_normalize
from curation.ml.pruning import PruneReason
from curation.models import DatasetVersion, VersionSample
from curation.pruning.blobs import arrays_load
from curation.pruning.models import Cluster, ClusterRun, PruneDecision, PruneRun, PruneRunStatus
from curation.pruning.services.apply import prune_run_apply
from curation.pruning.services.clustering import cluster_run_create
from curation.pruning.services.decisions import DecisionArrays, _bulk_create_write, _copy_write
from curation.pruning.services.embeddings import version_embeddings_load
from curation.pruning.services.params import ClusterParams, cluster_params_validate, prune_params_validate
from curation.pruning.services.pruning import prune_run_create
from jobs.runtime import JobCancelled
from tests.curation.pruning.factories import embedding_set_create, member_ids, stored_files, version_with_samples


def _decisions(run: PruneRun) -> list[tuple]:
    return list(
        PruneDecision.objects.filter(prune_run=run)
        .order_by("sample_id")
        .values_list("sample_id", "keep", "reason", "duplicate_of_id", "cluster")
    )


def _prune(version, method, **params) -> PruneRun:
    """These tests are about the methods: every split is pruned (the default, train only, is tested elsewhere)."""
    params.setdefault("splits", ["train", "val"])
    return prune_run_create(params=prune_params_validate(version_id=version.pk, method=method, **params))


# --- clustering ----------------------------------------------------------------------------------


def test_cluster_run_stores_assignment_stats_and_class_mix(small_version):
    version, embedding_set, _ = small_version

    run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=3)
    )

    clusters = list(run.clusters.order_by("index"))
    stored = arrays_load(run.assignment_key)
    assert (run.n_clusters, run.n_samples, len(clusters)) == (3, 60, 3)
    assert sorted(c.size for c in clusters) == [20, 20, 20]
    assert np.array_equal(stored["sample_ids"], member_ids(version))
    assert [int(np.count_nonzero(stored["cluster"] == c.index)) for c in clusters] == [c.size for c in clusters]
    assert [sum(c.class_mix.values()) for c in clusters] == [c.size for c in clusters]
    assert all(c.complexity == pytest.approx(c.d_intra * c.d_inter) for c in clusters)
    assert arrays_load(run.centroids_key)["centroids"].shape == (3, 16)
    assert run.params["k_heuristic"] is None and run.params["n_inter_neighbors"] == 20


def test_cluster_run_states_the_default_k(small_version):
    version, embedding_set, _ = small_version

    run = cluster_run_create(params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk))

    assert run.n_clusters == 5  # round(sqrt(60 / 2))
    assert run.params["k_heuristic"] == "round(sqrt(n / 2))"


def test_k_larger_than_the_sample_count_is_refused(small_version):
    version, embedding_set, _ = small_version

    with pytest.raises(ApplicationError) as refused:
        cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=61)
    with pytest.raises(ApplicationError) as refused_prune:
        prune_params_validate(version_id=version.pk, method="dbp", keep_fraction=0.5, n_clusters=61)

    assert refused.value.code == refused_prune.value.code == "k_too_large"
    assert ClusterRun.objects.count() == PruneRun.objects.count() == 0


def test_embeddings_of_another_version_are_refused_and_nothing_is_written(small_version):
    version, _, vectors = small_version
    other = version_with_samples(60, dataset=version.dataset, number=2)
    foreign = embedding_set_create(version=other, vectors=vectors)

    with pytest.raises(ApplicationError) as refused_cluster:
        cluster_params_validate(version_id=version.pk, embedding_set_id=foreign.pk, n_clusters=3)
    with pytest.raises(ApplicationError) as refused_prune:
        prune_params_validate(version_id=version.pk, method="semdedup", embedding_set_id=foreign.pk)
    with pytest.raises(ApplicationError) as refused_run:  # the job re-checks when it loads the rows
        cluster_run_create(params=ClusterParams(version_id=version.pk, embedding_set_id=foreign.pk, n_clusters=3))

    assert refused_cluster.value.code == refused_prune.value.code == refused_run.value.code == "embeddings_mismatch"
    assert refused_cluster.value.details == {"missing": 60, "members": 60}
    assert ClusterRun.objects.count() == PruneRun.objects.count() == 0
    assert stored_files("pruning") == []


def test_embeddings_covering_part_of_the_version_are_refused(small_version):
    version, _, vectors = small_version
    partial = embedding_set_create(version=version, vectors=vectors[:50], sample_ids=member_ids(version)[:50])

    with pytest.raises(ApplicationError) as refused:
        prune_params_validate(version_id=version.pk, method="ssp", embedding_set_id=partial.pk, keep_fraction=0.5)

    assert refused.value.code == "embeddings_mismatch"
    assert refused.value.details == {"missing": 10, "members": 60}


def test_a_parents_embeddings_serve_a_pruned_child(small_version):
    version, embedding_set, _ = small_version
    child = prune_run_apply(prune_run=_prune(version, "random", keep_fraction=0.5))

    run = _prune(child, "semdedup", embedding_set_id=embedding_set.pk, n_clusters=2)

    assert (run.n_candidates, run.embedding_set_id) == (30, embedding_set.pk)


# --- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("keep_fraction", [0.0, -0.1, 1.5])
def test_keep_fraction_outside_zero_one_is_refused(small_version, keep_fraction):
    version, _, _ = small_version

    with pytest.raises(ApplicationError) as refused:
        prune_params_validate(version_id=version.pk, method="dbp", keep_fraction=keep_fraction)

    assert refused.value.code == "invalid_keep_fraction"
    assert PruneRun.objects.count() == 0


def test_keep_fraction_one_keeps_everything(small_version):
    version, _, _ = small_version

    run = _prune(version, "random", keep_fraction=1.0)

    assert (run.n_candidates, run.n_kept) == (60, 60)


@pytest.mark.parametrize("eps", [0.0, -0.05, 1.0])
def test_eps_outside_zero_one_is_refused(small_version, eps):
    version, _, _ = small_version

    with pytest.raises(ApplicationError) as refused:
        prune_params_validate(version_id=version.pk, method="semdedup", eps=eps)

    assert refused.value.code == "invalid_eps"
    assert PruneRun.objects.count() == 0


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"method": "nope"}, "invalid_method"),
        ({"method": "dbp", "tau": 0}, "invalid_tau"),
        ({"method": "ssp", "which_to_keep": "random"}, "invalid_parameter"),
        ({"method": "dbp", "n_clusters": 0}, "invalid_k"),
        ({"method": "ssp", "cluster_run_id": 999}, "cluster_run_mismatch"),
    ],
)
def test_other_bad_parameters_are_refused_with_their_code(small_version, params, code):
    version, _, _ = small_version

    with pytest.raises(ApplicationError) as refused:
        prune_params_validate(version_id=version.pk, **params)

    assert refused.value.code == code


# --- prune runs ---------------------------------------------------------------------------------------


def _reference_semdedup(vectors, sample_ids, cluster, distance, eps):
    """Loop-based SemDeDup (docs/METHODS.md §1): per cluster, hardest first; j goes when an earlier i is too similar."""
    removed = {}
    for c in np.unique(cluster):
        members = list(np.flatnonzero(cluster == c))
        members.sort(key=lambda i: (-float(distance[i]), i))
        for position, j in enumerate(members):
            best, best_of = -np.inf, None
            for i in members[:position]:
                similarity = float(np.dot(vectors[i], vectors[j]))
                if similarity > best:
                    best, best_of = similarity, i
            removed[int(sample_ids[j])] = (best > 1 - eps, int(sample_ids[best_of]) if best_of is not None else None)
    return removed


def test_semdedup_decisions_in_the_database_equal_a_loop_reference(small_version):
    version, embedding_set, _ = small_version
    cluster_run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=3)
    )
    stored = arrays_load(cluster_run.assignment_key)
    vectors = l2_normalize(np.load(default_storage.path(embedding_set.embeddings_key)).astype(np.float32))

    run = _prune(version, "semdedup", eps=0.08, cluster_run_id=cluster_run.pk)

    reference = _reference_semdedup(vectors, stored["sample_ids"], stored["cluster"], stored["distance"], 0.08)
    rows = _decisions(run)
    assert [(sid, not keep) for sid, keep, *_ in rows] == [(sid, reference[sid][0]) for sid, *_ in rows]
    assert [dup for *_, dup, _ in rows] == [reference[sid][1] for sid, *_ in rows]
    assert run.cluster_run_id == cluster_run.pk and run.params["n_clusters"] is None
    ids = member_ids(version)
    removed = {sid for sid, keep, *_ in rows if not keep}
    assert {int(ids[5]), int(ids[6])} <= removed or {int(ids[4]), int(ids[5])} <= removed  # exact copies of 4


def test_semdedup_chain_removes_every_later_link(db):
    # a~b, b~c, a≁c inside one cluster: b and c both go (docs/METHODS.md §1), whatever the order of a and c.
    version = version_with_samples(3)
    angle = np.deg2rad([0.0, 11.0, 22.0])
    vectors = np.stack([np.cos(angle), np.sin(angle), np.zeros(3)], axis=1).astype(np.float32)
    embedding_set_create(version=version, vectors=vectors)

    run = _prune(version, "semdedup", eps=1 - np.cos(np.deg2rad(15.0)), n_clusters=1, which_to_keep="easy")

    reasons = [reason for _, _, reason, _, _ in _decisions(run)]
    assert reasons.count(PruneReason.SEMANTIC_DUPLICATE) == 2
    assert run.n_kept == 1


def test_semdedup_with_a_keep_fraction_picks_its_eps_and_stores_the_sweep(small_version):
    version, _, _ = small_version

    run = _prune(version, "semdedup", keep_fraction=0.75, n_clusters=3)

    assert run.n_kept == 45
    assert 0 < run.params["eps"] < 1 and run.params["keep_fraction"] == 0.75
    assert [point["eps"] for point in run.sweep] == sorted({0.005, 0.01, 0.02, 0.05, 0.1, run.params["eps"]})
    assert [p["n_kept"] for p in run.sweep] == sorted((p["n_kept"] for p in run.sweep), reverse=True)
    assert next(p for p in run.sweep if p["eps"] == run.params["eps"])["n_kept"] == 45


def test_dbp_budgets_sum_to_n_within_bounds_and_match_the_decisions(small_version):
    version, _, _ = small_version

    run = _prune(version, "semdedup+dbp", keep_fraction=0.5, n_clusters=3, dbp_n_clusters=3)

    budgets = arrays_load(run.budgets_key)
    survivors = run.summary["stages"][1]["n_kept"]
    assert int(budgets["budgets"].sum()) == round(0.5 * survivors) == run.n_kept
    assert (budgets["lower"] <= budgets["budgets"]).all() and (budgets["budgets"] <= budgets["upper"]).all()
    kept_per_cluster = PruneDecision.objects.filter(prune_run=run, keep=True, reason=PruneReason.KEPT)
    counts = np.bincount(list(kept_per_cluster.values_list("cluster", flat=True)), minlength=3)
    assert counts.tolist() == budgets["budgets"].tolist()
    assert run.summary["reasons"]["exact_duplicate"] == 2
    assert [s["method"] for s in run.summary["stages"]] == ["exact", "semdedup", "dbp"]


def test_every_method_stores_one_decision_per_sample(small_version):
    version, _, _ = small_version

    for method in ("semdedup", "dbp", "ssp", "random", "semdedup+dbp"):
        run = _prune(version, method, keep_fraction=0.5, n_clusters=3, per_class=method in ("dbp", "random"))

        assert PruneDecision.objects.filter(prune_run=run).count() == 60, method
        assert PruneDecision.objects.filter(prune_run=run, keep=True).count() == run.n_kept, method
        assert sum(run.summary["reasons"].values()) == 60, method


def test_per_class_random_keeps_the_fraction_within_each_class(small_version):
    version, _, _ = small_version

    run = _prune(version, "random", keep_fraction=0.25, per_class=True)

    kept = VersionSample.objects.filter(
        version=version, sample_id__in=PruneDecision.objects.filter(prune_run=run, keep=True).values("sample_id")
    )
    assert sorted(kept.values_list("label", flat=True)) == ["cat"] * 5 + ["dog"] * 5 + ["fox"] * 5


def test_a_cancel_while_writing_decisions_leaves_nothing(small_version, monkeypatch):
    version, _, _ = small_version
    monkeypatch.setattr("curation.pruning.services.decisions.BATCH_ROWS", 10)
    params = prune_params_validate(version_id=version.pk, method="dbp", keep_fraction=0.5, n_clusters=3)

    def cancel(done, total):
        if done >= 30:
            raise JobCancelled()

    with pytest.raises(JobCancelled):
        prune_run_create(params=params, on_batch=cancel)

    assert PruneRun.objects.count() == PruneDecision.objects.count() == 0
    assert stored_files("pruning") == []


def test_copy_and_bulk_create_write_the_same_rows(small_version):
    version, _, _ = small_version
    first, second = (_prune(version, "random", keep_fraction=0.5) for _ in range(2))
    PruneDecision.objects.filter(prune_run__in=[first, second]).delete()
    ids = member_ids(version)
    arrays = DecisionArrays(
        sample_ids=ids,
        keep=np.arange(60) % 2 == 0,
        reason=np.arange(60, dtype=np.int8) % 7,
        score=np.where(np.arange(60) % 3 == 0, np.nan, np.linspace(-1, 1, 60)).astype(np.float32),
        duplicate_of=np.where(np.arange(60) % 4 == 0, ids[0], -1),
        cluster=np.where(np.arange(60) % 5 == 0, -1, np.arange(60) % 3),
    )

    _copy_write(first.pk, arrays, None)
    _bulk_create_write(second.pk, arrays, None)

    columns = ("sample_id", "keep", "reason", "score", "duplicate_of_id", "cluster")
    a = list(PruneDecision.objects.filter(prune_run=first).order_by("sample_id").values_list(*columns))
    b = list(PruneDecision.objects.filter(prune_run=second).order_by("sample_id").values_list(*columns))
    assert a == b and len(a) == 60
    assert sum(1 for row in a if row[3] is None) == 20 and sum(1 for row in a if row[5] is None) == 12


# --- apply -----------------------------------------------------------------------------------------


def test_apply_creates_one_immutable_version_with_lineage_even_when_applied_twice(small_version, curator):
    version, _, _ = small_version
    run = _prune(version, "ssp", keep_fraction=0.5, n_clusters=3)

    first = prune_run_apply(prune_run=run, user=curator)
    second = prune_run_apply(prune_run=run, user=curator)

    assert first.pk == second.pk
    assert DatasetVersion.objects.filter(dataset=version.dataset).count() == 2
    assert (first.number, first.parent_id, first.operation, first.sample_count) == (2, version.pk, "prune", 30)
    assert first.operation_params["prune_run"] == run.pk and first.operation_params["removed"] == 30
    kept = set(PruneDecision.objects.filter(prune_run=run, keep=True).values_list("sample_id", flat=True))
    members = VersionSample.objects.filter(version=first)
    assert set(members.values_list("sample_id", flat=True)) == kept
    source = {m.sample_id: (m.split, m.label, m.labels) for m in VersionSample.objects.filter(version=version)}
    assert all(source[m.sample_id] == (m.split, m.label, m.labels) for m in members)
    assert VersionSample.objects.filter(version=version).count() == 60  # nothing deleted
    run.refresh_from_db()
    assert (run.status, run.resulting_version_id, run.applied_by) == (PruneRunStatus.APPLIED, first.pk, curator)


def test_each_run_applies_into_its_own_next_version(small_version):
    version, _, _ = small_version
    runs = [_prune(version, "random", keep_fraction=f) for f in (0.5, 0.25)]

    versions = [prune_run_apply(prune_run=run) for run in runs]

    assert [(v.number, v.sample_count) for v in versions] == [(2, 30), (3, 15)]


def test_clusters_of_a_reused_run_are_not_recomputed(small_version):
    version, embedding_set, _ = small_version
    cluster_run = cluster_run_create(
        params=cluster_params_validate(version_id=version.pk, embedding_set_id=embedding_set.pk, n_clusters=4)
    )

    run = _prune(version, "dbp", keep_fraction=0.5, cluster_run_id=cluster_run.pk)

    stored = arrays_load(cluster_run.assignment_key)
    clusters = dict(PruneDecision.objects.filter(prune_run=run).values_list("sample_id", "cluster"))
    assert [clusters[int(s)] for s in stored["sample_ids"]] == stored["cluster"].tolist()
    assert Cluster.objects.filter(cluster_run=cluster_run).count() == 4
    assert run.summary["stages"][0]["params"]["n_clusters"] == 4


def test_embeddings_stream_from_the_file_in_batches_whatever_the_row_order(small_version):
    version, _, vectors = small_version
    ids = member_ids(version)
    shuffled = np.random.default_rng(3).permutation(60)
    embedding_set = embedding_set_create(version=version, vectors=vectors[shuffled], sample_ids=ids[shuffled])
    reports = []

    loaded = version_embeddings_load(
        version=version, embedding_set=embedding_set, batch_rows=7, progress=lambda d, t, m: reports.append(d)
    )

    expected = l2_normalize(vectors.astype(np.float16).astype(np.float32))
    assert np.array_equal(loaded.sample_ids, ids)
    assert np.allclose(loaded.vectors, expected, atol=1e-6)
    assert loaded.vectors.dtype == np.float32 and loaded.vectors.flags.c_contiguous
    assert reports == [7, 14, 21, 28, 35, 42, 49, 56, 60]
