"""Review rows for the permission matrix: a queue over the world's version with every user assigned."""

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model

from curation.review.models import LabelProposal, ProposalRun, ProposalSource, ReviewItem, ReviewQueue


@dataclass
class ReviewWorld:
    proposal_run: ProposalRun
    queue: ReviewQueue
    item: ReviewItem


def review_world(world: Any) -> ReviewWorld:
    """The ReviewWorld of a permission-matrix World (created on first use, kept on the world). Every
    user that exists when it is asked for is assigned, so a reviewer's request is judged by role only."""
    found = getattr(world, "review", None)
    if found is None:
        version = world.version
        run = ProposalRun.objects.create(version=version, source=ProposalSource.CONFIDENT_LEARNING, proposal_count=1)
        LabelProposal.objects.create(
            run=run, version=version, sample=world.sample, label="dog", source=run.source, score=0.9, issue_score=0.8
        )
        queue = ReviewQueue.objects.create(version=version, name="matrix", item_count=1)
        candidates = [{"label": "cat", "current": True, "sources": [{"source": "current"}]}]
        item = ReviewItem.objects.create(queue=queue, sample=world.sample, position=1, candidates=candidates)
        found = world.review = ReviewWorld(run, queue, item)
    found.queue.reviewers.set(get_user_model().objects.all())
    return found


def queue_kwargs(world: Any) -> dict[str, int]:
    return {"queue_id": review_world(world).queue.pk}


def item_kwargs(world: Any) -> dict[str, int]:
    return {"item_id": review_world(world).item.pk}


def proposal_run_kwargs(world: Any) -> dict[str, int]:
    return {"proposal_run_id": review_world(world).proposal_run.pk}
