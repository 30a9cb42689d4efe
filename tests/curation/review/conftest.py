"""Fixtures of the review tests: a labelled version with embeddings where a few labels are wrong,
queues with assigned reviewers, and a helper to read every vote row."""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from core.roles import Role
from curation.embeddings.models import EmbeddingSet
from curation.models import DatasetVersion, VersionSample
from curation.review.models import LabelProposal, ProposalRun, ProposalSource, ReviewQueue, ReviewVote
from curation.review.services.queues import review_queue_create
from tests.curation.pruning.factories import embedding_set_create, version_with_samples
from tests.factories import UserFactory

CLASSES = ["cat", "dog", "bird"]


@dataclass
class NoisyVersion:
    version: DatasetVersion
    sample_ids: np.ndarray
    truth: np.ndarray  # true class index per sample
    flipped: np.ndarray  # rows whose label is wrong
    vectors: np.ndarray


@pytest.fixture
def noisy_version(db) -> NoisyVersion:
    """90 samples of 3 well separated classes (30 each), 6 of them labelled as the next class, with a ready
    embedding set of their (unit) vectors."""
    rng = np.random.default_rng(7)
    truth = np.repeat(np.arange(3), 30)
    centres = rng.standard_normal((3, 12)) * 3
    vectors = centres[truth] + rng.standard_normal((90, 12))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    flipped = np.array([3, 17, 40, 51, 66, 88])
    given = truth.copy()
    given[flipped] = (truth[flipped] + 1) % 3
    version = version_with_samples(90, labels=[CLASSES[g] for g in given])
    version.dataset.classes = CLASSES
    version.dataset.save(update_fields=["classes"])
    embedding_set_create(version=version, vectors=vectors)
    ids = np.asarray(sorted(VersionSample.objects.filter(version=version).values_list("sample_id", flat=True)))
    return NoisyVersion(version, ids, truth, flipped, vectors)


@pytest.fixture
def reviewers(db) -> list:
    return [UserFactory(role=Role.REVIEWER, username=f"rev{i}") for i in range(4)]


def proposals_add(
    version: DatasetVersion,
    rows: list[tuple[int, str, float, float | None]],
    source: str = ProposalSource.CONFIDENT_LEARNING,
) -> ProposalRun:
    """A proposal run with (sample id, label, score, issue score) rows."""
    run = ProposalRun.objects.create(version=version, source=source, proposal_count=len(rows))
    LabelProposal.objects.bulk_create(
        [
            LabelProposal(
                run=run, version=version, sample_id=s, label=label, source=source, score=score, issue_score=issue
            )
            for s, label, score, issue in rows
        ]
    )
    return run


@pytest.fixture
def small_queue(db, reviewers) -> Callable[..., ReviewQueue]:
    """make(n_items=3, reviewers_per_item=1, quorum=None, aggregation="auto") -> a queue over the first n samples
    of a 3-class version, each with one proposal (the next class, score 0.8), every reviewer assigned."""

    def make(
        n_items: int = 3, reviewers_per_item: int = 1, quorum: int | None = None, aggregation: str = "auto"
    ) -> ReviewQueue:
        version = version_with_samples(max(n_items, 3), labels=CLASSES)
        version.dataset.classes = CLASSES
        version.dataset.save(update_fields=["classes"])
        members = list(VersionSample.objects.filter(version=version).order_by("sample_id"))[:n_items]
        proposals_add(version, [(m.sample_id, CLASSES[(CLASSES.index(m.label) + 1) % 3], 0.8, 0.5) for m in members])
        return review_queue_create(
            version=version, name="q", reviewers_per_item=reviewers_per_item, quorum=quorum, aggregation=aggregation,
            reviewer_ids=[r.pk for r in reviewers],
        )  # fmt: skip

    return make


def vote_rows(queue: ReviewQueue) -> list[tuple[str, str, str, str, bool, bool]]:
    """(reviewer, label, value, origin, is_current, undone) of every vote of the queue, in id order."""
    return [
        (v.reviewer.username, v.label, v.value, v.origin, v.is_current, v.undone_at is not None)
        for v in ReviewVote.objects.filter(item__queue=queue).select_related("reviewer").order_by("id")
    ]


def embedding_set_with_index(version: DatasetVersion, vectors: np.ndarray, tmp_path) -> EmbeddingSet:
    """A ready embedding set of the version's members (id order) with its FAISS index stored, so that
    nearest-neighbour reads work as on a real set."""
    from django.core.files import File
    from django.core.files.storage import default_storage

    from core.storage import sha256_bytes
    from curation.ml.similarity import FaissIndex

    embedding_set = embedding_set_create(version=version, vectors=vectors)
    ids = np.asarray(sorted(VersionSample.objects.filter(version=version).values_list("sample_id", flat=True)))
    index = FaissIndex(vectors.shape[1])
    index.add(np.asarray(vectors, dtype=np.float32), ids)
    path = tmp_path / "index.faiss"
    index.save(path)
    with path.open("rb") as handle:
        embedding_set.index_key = default_storage.save(f"embeddings/test/{embedding_set.pk}/index.faiss", File(handle))
    embedding_set.index_checksum = sha256_bytes(path.read_bytes())
    embedding_set.index_kind = "flat"
    embedding_set.save()
    return embedding_set
