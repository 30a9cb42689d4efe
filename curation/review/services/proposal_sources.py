"""Proposal sources besides confident learning: a trained model's top k, CLIP zero-shot, mixed clusters."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from curation.embeddings.models import EmbeddingSet
from curation.models import DatasetVersion
from curation.pruning.blobs import arrays_load
from curation.pruning.models import ClusterRun
from curation.review.ml import proposals as ml
from curation.review.models import ProposalSource
from curation.review.services.proposal_inputs import (
    Members,
    Proposal,
    class_order,
    member_embeddings,
    top_k_proposals,
)
from curation.review.services.proposal_params import ProposalParams

Progress = Callable[[int, int, str], None]


def model_topk(
    params: ProposalParams, version: DatasetVersion, members: Members, report: Progress
) -> tuple[list[Proposal], dict[str, Any]]:
    from curation.review.services.model_scores import trained_model_probabilities  # noqa: PLC0415 - torch: the proposals job only

    names, probabilities = trained_model_probabilities(
        trained_model_id=params.id_of("trained_model_id"),
        sample_ids=members.sample_ids,
        batch_size=params.batch_size,
        progress=report,
    )
    rows = np.arange(members.sample_ids.size)
    proposals = top_k_proposals(rows, probabilities, names, members, params, ProposalSource.MODEL_TOPK)
    return proposals, {"classes": names, "scored": int(rows.size)}


def clip_zero_shot(
    params: ProposalParams, version: DatasetVersion, members: Members, report: Progress
) -> tuple[list[Proposal], dict[str, Any]]:
    from curation.review.services.model_scores import zero_shot_text_embeddings  # noqa: PLC0415 - torch: the proposals job only

    embedding_set = EmbeddingSet.objects.get(pk=params.id_of("embedding_set_id"))
    names = list(version.dataset.classes) or class_order(version, members)
    report(0, 2, "embedding class prompts")
    texts, scale = zero_shot_text_embeddings(embedding_set, [params.prompt.format(name) for name in names])
    report(1, 2, "scoring images")
    rows, vectors = member_embeddings(embedding_set, members)
    probabilities = ml.zero_shot_probabilities(vectors, texts, scale=scale)
    proposals = top_k_proposals(rows, probabilities, names, members, params, ProposalSource.CLIP_ZERO_SHOT)
    summary = {
        "classes": names,
        "logit_scale": round(scale, 4),
        "scored": int(rows.size),
        "encoder": embedding_set.encoder_name,
    }
    return proposals, summary


def mixed_clusters(
    params: ProposalParams, version: DatasetVersion, members: Members, report: Progress
) -> tuple[list[Proposal], dict[str, Any]]:
    run = ClusterRun.objects.get(pk=params.id_of("cluster_run_id"))
    stored = arrays_load(run.assignment_key)
    positions = np.searchsorted(members.sample_ids, stored["sample_ids"])
    positions = np.minimum(positions, max(members.sample_ids.size - 1, 0))
    inside = members.sample_ids[positions] == stored["sample_ids"] if members.sample_ids.size else np.zeros(0, bool)
    rows, clusters = positions[inside], stored["cluster"][inside]
    classes = class_order(version, members)
    index = {name: i for i, name in enumerate(classes)}
    labels = np.asarray([index.get(members.primary[r], -1) if members.primary[r] else -1 for r in rows.tolist()])
    found = ml.mixed_cluster_proposals(clusters, labels, min_share=params.min_share)
    proposals = [
        Proposal(
            int(members.sample_ids[rows[p.row]]), classes[p.label], p.share, p.share, ProposalSource.MIXED_CLUSTER,
            {"cluster": int(clusters[p.row]), "cluster_run": run.pk, "given": members.primary[rows[p.row]]},
        )
        for p in found
        if classes[p.label] not in members.label_sets[rows[p.row]]
    ]  # fmt: skip
    summary = {"clusters": int(np.unique(clusters).size), "in_cluster_run": int(rows.size)}
    return proposals, summary
