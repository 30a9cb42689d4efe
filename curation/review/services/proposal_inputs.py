"""What every proposal source reads and writes: the version's members, their embeddings, proposals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.api_errors import ApplicationError
from curation.embeddings.files import CorruptEmbeddingFile
from curation.embeddings.models import EmbeddingSet
from curation.embeddings.selectors import embedding_set_arrays
from curation.models import DatasetVersion, VersionSample
from curation.review.ml import proposals as ml
from curation.review.services.proposal_params import ProposalParams


@dataclass
class Members:
    """The version's members (of the given splits; all when none) in sample-id order: labels and splits."""

    sample_ids: np.ndarray
    primary: list[str]
    label_sets: list[list[str]]
    splits: list[str]

    @classmethod
    def of(cls, version: DatasetVersion, splits: tuple[str, ...] = ()) -> Members:
        rows = VersionSample.objects.filter(version=version).order_by("sample_id")
        if splits:
            rows = rows.filter(split__in=splits)
        sample_ids, primary, label_sets, split_of = [], [], [], []
        values = rows.values_list("sample_id", "label", "labels", "split")
        for sample_id, label, labels, split in values.iterator(chunk_size=5000):
            sample_ids.append(sample_id)
            primary.append(label)
            label_sets.append([entry["label"] for entry in labels] or ([label] if label else []))
            split_of.append(split)
        return cls(np.asarray(sample_ids, dtype=np.int64), primary, label_sets, split_of)


@dataclass(frozen=True)
class Proposal:
    sample_id: int
    label: str
    score: float
    issue_score: float | None
    source: str
    params: dict[str, Any]


def class_order(version: DatasetVersion, members: Members) -> list[str]:
    """The dataset's taxonomy, then labels outside it (alphabetically)."""
    present = {label for labels in members.label_sets for label in labels}
    taxonomy = list(version.dataset.classes)
    return taxonomy + sorted(present - set(taxonomy))


def member_embeddings(embedding_set: EmbeddingSet, members: Members) -> tuple[np.ndarray, np.ndarray]:
    """(rows of members that have an embedding, their float32 vectors)."""
    try:
        arrays = embedding_set_arrays(embedding_set)
    except (CorruptEmbeddingFile, FileNotFoundError) as exc:
        raise ApplicationError(str(exc), code="corrupt_embeddings", status_code=409)
    positions = np.searchsorted(arrays.row_ids, members.sample_ids)
    positions = np.minimum(positions, max(len(arrays.row_ids) - 1, 0))
    found = arrays.row_ids[positions] == members.sample_ids if len(arrays.row_ids) else np.zeros(0, bool)
    rows = np.flatnonzero(found)
    return rows, np.asarray(arrays.embeddings[positions[rows]], dtype=np.float32)


def top_k_proposals(
    rows: np.ndarray,
    probabilities: np.ndarray,
    names: list[str],
    members: Members,
    params: ProposalParams,
    source: str,
    *,
    with_issue: bool = True,
) -> list[Proposal]:
    """The top k classes above the threshold that a member does not carry; issue = 1 − p(primary)."""
    index = {name: i for i, name in enumerate(names)}
    proposals = []
    ranked_rows = ml.top_k_above(probabilities, k=params.top_k, threshold=params.threshold)
    for i, (row, ranked) in enumerate(zip(rows.tolist(), ranked_rows, strict=True)):
        have = set(members.label_sets[row])
        given = index.get(members.primary[row])
        issue = 1.0 - float(probabilities[i, given]) if with_issue and given is not None else None
        for rank, (c, p) in enumerate(ranked):
            if names[c] not in have:
                proposals.append(Proposal(int(members.sample_ids[row]), names[c], p, issue, source, {"rank": rank + 1}))
    return proposals
