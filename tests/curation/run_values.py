"""Runs with per-sample values, as their jobs leave them (through the same writers), for the grid's run sorts and
prediction filters: a proposal run's issue scores, a duplicate run's groups, a cluster run's distances and an
evaluation's predictions."""

import numpy as np

from curation.embeddings.models import DuplicateGroup, DuplicateKind, DuplicateRun
from curation.embeddings.services.duplicates import duplicate_members_write
from curation.models import DatasetVersion, VersionSample
from curation.pruning.models import Cluster, ClusterRun
from curation.pruning.services.clustering import cluster_members_write
from curation.review.models import ProposalIssue, ProposalRun, ProposalSource
from robustness.evaluation.models import EvaluationRun
from robustness.evaluation.services.dataset import EvaluationSet
from robustness.evaluation.services.predictions import predictions_write
from tests.curation.pruning.factories import embedding_set_create
from tests.robustness.factories import TrainedModelFactory


def proposal_run_scored(version: DatasetVersion, issues: dict[int, float]) -> ProposalRun:
    """A confident-learning run of `version` that gave these samples these issue scores."""
    run = ProposalRun.objects.create(
        version=version, source=ProposalSource.CONFIDENT_LEARNING, proposal_count=len(issues), issue_count=len(issues)
    )
    ProposalIssue.objects.bulk_create(ProposalIssue(run=run, sample_id=i, issue_score=s) for i, s in issues.items())
    return run


def duplicate_run_grouped(version: DatasetVersion, groups: list[list[int]], *, stored: bool = True) -> DuplicateRun:
    """A duplicate run of `version` whose near-duplicate groups (numbered from 1) hold these samples; without
    `stored`, as a run made before its members were stored."""
    embedding_set = embedding_set_create(version=version, vectors=np.eye(len(version_ids(version)), 4))
    run = DuplicateRun.objects.create(
        embedding_set=embedding_set, version=version, threshold=0.95, threshold_source="user", members_stored=stored
    )
    rows = [
        DuplicateGroup(run=run, number=number, kind=DuplicateKind.NEAR, size=len(ids), sample_ids=ids)
        for number, ids in enumerate(groups, start=1)
    ]
    DuplicateGroup.objects.bulk_create(rows)
    if stored:
        duplicate_members_write(run, rows)
    return run


def cluster_run_measured(
    version: DatasetVersion, members: dict[int, tuple[int, float]], *, stored: bool = True
) -> ClusterRun:
    """A finished cluster run of `version`: {sample id: (cluster, distance to its centroid)}."""
    embedding_set = embedding_set_create(version=version, vectors=np.eye(len(version_ids(version)), 4))
    clusters = sorted({cluster for cluster, _ in members.values()})
    run = ClusterRun.objects.create(
        version=version, embedding_set=embedding_set, n_clusters=len(clusters), n_samples=len(members),
        assignment_key="test/assignment.npz", centroids_key="test/centroids.npz", members_stored=stored,
    )  # fmt: skip
    for cluster in clusters:
        size = sum(1 for c, _ in members.values() if c == cluster)
        Cluster.objects.create(cluster_run=run, index=cluster, size=size, complexity=0.1)
    if stored:
        ids = np.array(sorted(members), dtype=np.int64)
        cluster_members_write(
            run, ids, np.array([members[i][0] for i in ids]), np.array([members[i][1] for i in ids], dtype=np.float32)
        )
    return run


def evaluation_predicted(
    version: DatasetVersion, predictions: dict[int, tuple[str, float]], classes: list[str]
) -> EvaluationRun:
    """A finished evaluation of `version` whose clean pass predicted {sample id: (class, its probability)}."""
    model = TrainedModelFactory(run__version=version, run__classes=classes, classes=classes)
    run = EvaluationRun.objects.create(trained_model=model, version=version, suites=["clean"], split="all")
    ids = np.array(sorted(predictions), dtype=np.int64)
    labels = dict(VersionSample.objects.filter(version=version).values_list("sample_id", "label"))
    probabilities = np.zeros((ids.size, len(classes)))
    for row, sample_id in enumerate(ids):
        name, confidence = predictions[int(sample_id)]
        probabilities[row] = (1 - confidence) / max(len(classes) - 1, 1)
        probabilities[row, classes.index(name)] = confidence
    targets = np.array([classes.index(labels[int(i)]) for i in ids])
    evaluated = EvaluationSet(
        classes=classes, sample_ids=ids, images=np.zeros((ids.size, 1)), targets=targets, label_sets=[]
    )
    predictions_write(run, evaluated, probabilities)
    return run


def version_ids(version: DatasetVersion) -> list[int]:
    return list(VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", flat=True))
