"""Label proposal runs: one source over one version, stored as LabelProposal rows (docs/METHODS.md §4).

Sources: confident_learning (services/confident_learning.py), model_topk, clip_zero_shot and
mixed_cluster (services/proposal_sources.py). A proposal is only made for a label the sample does
not already carry; its issue score is 1 − the source's probability of the sample's primary label
(null where the source has none). The run and its rows are written in one transaction at the end,
so a failed run leaves nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from curation.models import DatasetVersion
from curation.review.models import LabelProposal, ProposalIssue, ProposalRun, ProposalSource
from curation.review.services.confident_learning import confident_learning
from curation.review.services.proposal_inputs import Members, Proposal
from curation.review.services.proposal_params import SOURCE_FIELDS, ProposalParams
from curation.review.services.proposal_sources import clip_zero_shot, mixed_clusters, model_topk
from curation.review.services.truth import proposal_truth_scores
from jobs.models import Job
from jobs.services import job_create, job_enqueue

PROPOSALS_JOB_KIND = "label_proposals"
Progress = Callable[[int, int, str], None]
BULK_BATCH = 2000

SOURCE_RUNNERS: dict[str, Callable[..., tuple[list[Proposal], dict[str, Any]]]] = {
    ProposalSource.CONFIDENT_LEARNING: confident_learning,
    ProposalSource.MODEL_TOPK: model_topk,
    ProposalSource.CLIP_ZERO_SHOT: clip_zero_shot,
    ProposalSource.MIXED_CLUSTER: mixed_clusters,
}


def proposal_run_create(
    *, params: ProposalParams, job: Job | None = None, user: User | None = None, progress: Progress | None = None
) -> ProposalRun:
    """Run one proposal source over a version and store its proposals (one transaction at the end).

    Raises ApplicationError (see proposal_params_validate, plus corrupt_embeddings, weights_unavailable,
    checkpoint_invalid, nothing_to_learn).
    """
    report = progress or (lambda done, total, message: None)
    version = DatasetVersion.objects.select_related("dataset").get(pk=params.version_id)
    members = Members.of(version, params.splits)
    started = time.perf_counter()
    proposals, summary = SOURCE_RUNNERS[params.source](params, version, members, report)
    summary = {**summary, "seconds": round(time.perf_counter() - started, 3), "members": int(members.sample_ids.size)}
    summary["truth"] = proposal_truth_scores(version, ((p.sample_id, p.label) for p in proposals))
    issues: dict[int, float] = {}  # per sample, the highest issue score of its proposals (the grid's sort)
    for p in proposals:
        if p.issue_score is not None:
            issues[p.sample_id] = max(p.issue_score, issues.get(p.sample_id, p.issue_score))
    with transaction.atomic():
        run = ProposalRun.objects.create(
            version=version,
            source=params.source,
            params=params.source_params(),
            summary=summary,
            proposal_count=len(proposals),
            flagged_count=len({p.sample_id for p in proposals}),
            issue_count=len(issues),
            embedding_set_id=params.embedding_set_id if "embedding_set_id" in SOURCE_FIELDS[params.source] else None,
            cluster_run_id=params.cluster_run_id if params.source == ProposalSource.MIXED_CLUSTER else None,
            trained_model_id=params.trained_model_id if params.source == ProposalSource.MODEL_TOPK else None,
            job=job,
            created_by=user,
        )
        LabelProposal.objects.bulk_create(
            [
                LabelProposal(
                    run=run, version=version, sample_id=p.sample_id, label=p.label, source=p.source,
                    score=p.score, issue_score=p.issue_score, params=p.params,
                )
                for p in proposals
            ],
            batch_size=BULK_BATCH,
        )  # fmt: skip
        ProposalIssue.objects.bulk_create(
            [ProposalIssue(run=run, sample_id=sample_id, issue_score=score) for sample_id, score in issues.items()],
            batch_size=BULK_BATCH,
        )
    return run


def proposal_run_submit(*, params: ProposalParams, requested_by: User) -> Job:
    """Queue a proposal job (checked first); the job calls proposal_run_create."""
    with transaction.atomic():
        job = job_create(kind=PROPOSALS_JOB_KIND, params=params.as_job_params(), requested_by=requested_by)
        job_enqueue(job)
    return job
