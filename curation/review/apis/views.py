# Over 300 lines: one thin view per review operation (proposal runs, queues, items, votes, undo, audit): a dozen
# lines of schema and one service call each.
"""Views of the review API; each calls one service or selector. Errors are structured JSON with stable codes:
not_found (404), not_assigned (403), invalid_vote / label_not_in_taxonomy / empty_filter / invalid_filter (400),
consensus_reached / already_submitted / queue_closed (409)."""

from typing import Any, cast

from django.contrib.auth.models import User
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from core.api_errors import error_response, not_found
from core.api_views import CurateApi, ReadApi, ReviewApi
from core.pagination import IdCursorPagination
from curation.apis.lookups import version_or_404
from curation.models import Dataset
from curation.review.apis import bodies
from curation.review.apis import serializers as s
from curation.review.models import AssignmentState, ReviewQueue, ReviewVote
from curation.review.selectors import (
    item_view,
    proposal_run_get,
    proposal_runs_of_version,
    queue_agreement,
    queue_progress,
    review_item_get,
    review_queue_get,
    review_queue_list,
)
from curation.review.services.apply import review_queue_apply
from curation.review.services.bulk import review_bulk_label
from curation.review.services.claims import review_claims_release
from curation.review.services.proposal_params import proposal_params_validate
from curation.review.services.proposals import proposal_run_submit
from curation.review.services.queues import (
    review_disagreement_queue_create,
    review_queue_create,
    review_queue_reviewers_set,
)
from curation.review.services.taxonomy import taxonomy_change
from curation.review.services.votes import (
    review_item_next,
    review_item_skip,
    review_item_submit,
    review_undo,
    review_vote_cast,
)
from jobs.apis import JobAcceptedOutputSerializer, params_job_accepted

ERRORS = {
    401: error_response("Not authenticated."),
    403: error_response("The role lacks the capability, or not_assigned."),
    404: error_response("Unknown id (code not_found)."),
}
INVALID = {400: error_response("Invalid input (see the code).")}
CONFLICT = {409: error_response("consensus_reached (a stale page), already_submitted, queue_closed.")}


def _queue_or_404(queue_id: int) -> ReviewQueue:
    queue = review_queue_get(queue_id)
    if queue is None:
        raise not_found("Review queue", queue_id)
    return queue


def _item_body(item_id: int, user: Any) -> dict[str, Any]:
    item = review_item_get(item_id)
    if item is None:
        raise not_found("Review item", item_id)
    return bodies.item_output(item_view(item, user, page_extras=False))


class ProposalRunStartApi(CurateApi):
    """Start a label-proposal job for a version from one source; returns 202 with the job."""

    @extend_schema(
        operation_id="proposal_run_start",
        tags=["review"],
        request=s.ProposalRunInputSerializer,
        responses={202: JobAcceptedOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        return params_job_accepted(
            request, s.ProposalRunInputSerializer, validate=proposal_params_validate, submit=proposal_run_submit
        )


class ProposalRunDetailApi(ReadApi):
    """A proposal run: its source, every parameter, counts and (on the demo) precision and recall."""

    @extend_schema(
        operation_id="proposal_run_detail", tags=["review"], responses={200: s.ProposalRunOutputSerializer, **ERRORS}
    )
    def get(self, request: Request, proposal_run_id: int) -> Response:
        run = proposal_run_get(proposal_run_id)
        if run is None:
            raise not_found("Proposal run", proposal_run_id)
        return Response(s.ProposalRunOutputSerializer(run).data)


class VersionProposalRunListApi(ReadApi):
    """A version's proposal runs, newest first."""

    @extend_schema(
        operation_id="proposal_run_list",
        tags=["review"],
        responses={200: s.ProposalRunOutputSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request, version_id: int) -> Response:
        runs = proposal_runs_of_version(version_or_404(version_id))
        return Response(s.ProposalRunOutputSerializer(runs, many=True).data)


class ReviewQueueListApi(ReadApi):
    """Review queues, newest first; `?mine=1` for the ones assigned to the caller, `?version=` for one version."""

    @extend_schema(
        operation_id="review_queue_list",
        tags=["review"],
        parameters=[OpenApiParameter("mine", OpenApiTypes.BOOL), OpenApiParameter("version", OpenApiTypes.INT)],
        responses={200: s.QueueOutputSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        mine = str(request.query_params.get("mine", "")).lower() in ("1", "true")
        version = request.query_params.get("version")
        queues = review_queue_list(
            version_id=int(version) if version and version.isdigit() else None, reviewer=request.user if mine else None
        )
        return Response(s.QueueOutputSerializer(queues.prefetch_related("reviewers")[:200], many=True).data)


class ReviewQueueCreateApi(CurateApi):
    """Create a queue of a version's samples chosen by a filter, with reviewers (400 empty_filter if none)."""

    @extend_schema(
        operation_id="review_queue_create",
        tags=["review"],
        request=s.QueueCreateInputSerializer,
        responses={201: s.QueueOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, version_id: int) -> Response:
        data = s.QueueCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        queue = review_queue_create(
            version=version_or_404(version_id),
            name=values["name"],
            filter=values["filter"],
            kind=values["kind"],
            reviewers_per_item=values["reviewers_per_item"],
            quorum=values.get("quorum"),
            aggregation=values["aggregation"],
            reviewer_ids=values["reviewers"],
            user=cast(User, request.user),
        )
        return Response(s.QueueOutputSerializer(queue).data, status=status.HTTP_201_CREATED)


class ReviewQueueDetailApi(ReadApi):
    """A queue with its progress and the agreement between its reviewers."""

    @extend_schema(
        operation_id="review_queue_detail", tags=["review"], responses={200: s.QueueDetailOutputSerializer, **ERRORS}
    )
    def get(self, request: Request, queue_id: int) -> Response:
        queue = _queue_or_404(queue_id)
        progress = queue_progress(queue)
        queue.progress = {"by_state": progress.by_state, "votes": progress.votes, "reviewers": progress.reviewers}  # type: ignore[attr-defined]
        queue.agreement = queue_agreement(queue)  # type: ignore[attr-defined]
        return Response(s.QueueDetailOutputSerializer(queue).data)


class ReviewQueueReviewersApi(CurateApi):
    """Replace the queue's assigned reviewers."""

    @extend_schema(
        operation_id="review_queue_reviewers_set",
        tags=["review"],
        request=s.ReviewersInputSerializer,
        responses={200: s.QueueOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, queue_id: int) -> Response:
        data = s.ReviewersInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        queue = review_queue_reviewers_set(queue=_queue_or_404(queue_id), reviewer_ids=data.validated_data["reviewers"])
        return Response(s.QueueOutputSerializer(queue).data)


class ReviewQueueNextApi(ReviewApi):
    """The caller's next item (claimed for them), or null when nothing is left; `exclude` skips shown items."""

    @extend_schema(
        operation_id="review_queue_next",
        tags=["review"],
        parameters=[
            OpenApiParameter("exclude", OpenApiTypes.STR, description="Comma-separated item ids."),
            s.NextItemInputSerializer,
        ],
        responses={200: s.NextItemOutputSerializer, **INVALID, **ERRORS},
    )
    def get(self, request: Request, queue_id: int) -> Response:
        exclude = tuple(int(i) for i in str(request.query_params.get("exclude", "")).split(",") if i.strip().isdigit())
        data = s.NextItemInputSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        item = review_item_next(
            queue=_queue_or_404(queue_id),
            reviewer=cast(User, request.user),
            exclude_item_ids=exclude,
            page=data.validated_data.get("page"),
        )
        if item is None:
            return Response({"item": None})
        # The item comes with its queue (and version, dataset); served items are the caller's claims.
        view = item_view(item, request.user, page_extras=False, assignment_state=AssignmentState.CLAIMED)
        return Response({"item": bodies.item_output(view)})


class ReviewItemDetailApi(ReadApi):
    """One item: the sample's labels, candidates with sources and scores, the caller's votes, consensus."""

    @extend_schema(
        operation_id="review_item_detail", tags=["review"], responses={200: s.ItemOutputSerializer, **ERRORS}
    )
    def get(self, request: Request, item_id: int) -> Response:
        return Response(_item_body(item_id, request.user))


class ReviewVoteCastApi(ReviewApi):
    """Vote yes / maybe / no on a label of an item: 201 when recorded, 200 when the same vote already was."""

    @extend_schema(
        operation_id="review_vote_cast",
        tags=["review"],
        request=s.VoteInputSerializer,
        responses={201: s.VoteCastOutputSerializer, 200: s.VoteCastOutputSerializer, **INVALID, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        values = bodies.vote_input(request.data)
        outcome = review_vote_cast(
            item_id=item_id,
            reviewer=cast(User, request.user),
            label=values["label"],
            value=values["vote"],
            request_id=values["request_id"],
        )
        body = {**bodies.vote_output(outcome.vote), "created": outcome.created}
        return Response(body, status=status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK)


class ReviewItemSubmitApi(ReviewApi):
    """Done with an item: candidates left unset count as no; closes the item at the queue's quorum."""

    @extend_schema(
        operation_id="review_item_submit",
        tags=["review"],
        request=None,
        responses={200: s.ItemStateOutputSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = review_item_submit(item_id=item_id, reviewer=cast(User, request.user))
        return Response(bodies.item_state_output(item))


class ReviewItemSkipApi(ReviewApi):
    """Pass on an item; it goes to another reviewer."""

    @extend_schema(
        operation_id="review_item_skip",
        tags=["review"],
        request=None,
        responses={200: s.ItemStateOutputSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, item_id: int) -> Response:
        item = review_item_skip(item_id=item_id, reviewer=cast(User, request.user))
        return Response(s.ItemStateOutputSerializer(item).data)


class ReviewQueueReleaseApi(ReviewApi):
    """The caller closes the queue: their claims without votes (the prefetched items) go back to the others.
    A review page's beacon names the page (its token): the claims a newer page took stay."""

    @extend_schema(
        operation_id="review_queue_release",
        tags=["review"],
        request=s.ClaimsReleaseInputSerializer,
        responses={200: s.ClaimsReleasedOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, queue_id: int) -> Response:
        data = s.ClaimsReleaseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        released = review_claims_release(
            queue=_queue_or_404(queue_id), reviewer=cast(User, request.user), page=data.validated_data.get("page")
        )
        return Response(s.ClaimsReleasedOutputSerializer({"released": released}).data)


class ReviewUndoApi(ReviewApi):
    """Undo the caller's last action in the queue (a vote, a submit or a skip); nothing is deleted."""

    @extend_schema(
        operation_id="review_undo",
        tags=["review"],
        request=None,
        responses={200: s.UndoOutputSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request: Request, queue_id: int) -> Response:
        outcome = review_undo(queue=_queue_or_404(queue_id), reviewer=cast(User, request.user))
        if outcome is None:
            return Response({"undone": None, "item": None, "vote": None})
        vote = s.VoteOutputSerializer(outcome.vote).data if outcome.vote else None
        return Response({"undone": outcome.undone, "item": outcome.item.pk, "vote": vote})


class ReviewQueueVoteListApi(ReadApi):
    """Every vote of the queue — reviewer, label, vote, time, superseded and undone ones included (cursor pages)."""

    class Pagination(IdCursorPagination):
        ordering = "id"

    @extend_schema(
        operation_id="review_vote_list",
        tags=["review"],
        parameters=[OpenApiParameter("page_size", OpenApiTypes.INT)],
        responses={200: s.VotePageOutputSerializer, **ERRORS},
    )
    def get(self, request: Request, queue_id: int) -> Response:
        queue = _queue_or_404(queue_id)
        votes = ReviewVote.objects.filter(item__queue=queue).select_related("reviewer")
        paginator = self.Pagination()
        page = paginator.paginate_queryset(votes, request, view=self)
        return paginator.get_paginated_response(s.VoteOutputSerializer(page, many=True).data)


class ReviewDisagreementQueueApi(CurateApi):
    """A new queue of this queue's disputed items (400 empty_filter when none is disputed)."""

    @extend_schema(
        operation_id="review_disagreement_queue_create",
        tags=["review"],
        request=s.DisagreementInputSerializer,
        responses={201: s.QueueOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, queue_id: int) -> Response:
        data = s.DisagreementInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        child = review_disagreement_queue_create(
            queue=_queue_or_404(queue_id),
            reviewer_ids=values["reviewers"],
            reviewers_per_item=values.get("reviewers_per_item"),
            quorum=values.get("quorum"),
            user=cast(User, request.user),
        )
        return Response(s.QueueOutputSerializer(child).data, status=status.HTTP_201_CREATED)


class ReviewQueueApplyApi(CurateApi):
    """Apply the consensus: a new version with the reviewed label sets (201), or the one already made (200)."""

    @extend_schema(
        operation_id="review_queue_apply",
        tags=["review"],
        request=s.ApplyInputSerializer,
        responses={201: s.QueueAppliedOutputSerializer, 200: s.QueueAppliedOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, queue_id: int) -> Response:
        data = s.ApplyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        queue = _queue_or_404(queue_id)
        base_id = data.validated_data.get("base_version")
        already = queue.applied_version_id is not None
        version = review_queue_apply(
            queue=queue, user=cast(User, request.user), base=version_or_404(base_id) if base_id else None
        )
        body = {
            "version": version.pk, "number": version.number, "parent": version.parent_id,
            "sample_count": version.sample_count, "operation_params": version.operation_params, "created": not already,
        }  # fmt: skip
        return Response(body, status=status.HTTP_200_OK if already else status.HTTP_201_CREATED)


class ReviewBulkVoteApi(ReviewApi):
    """One vote on many samples (a grid selection or a lasso), recorded with its origin, each item submitted."""

    @extend_schema(
        operation_id="review_bulk_vote",
        tags=["review"],
        request=s.BulkVoteInputSerializer,
        responses={200: s.BulkVoteOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, queue_id: int) -> Response:
        data = s.BulkVoteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        counts = review_bulk_label(
            queue=_queue_or_404(queue_id),
            reviewer=cast(User, request.user),
            sample_ids=values["sample_ids"],
            label=values["label"],
            value=values["vote"],
            origin=values["origin"],
        )
        return Response(s.BulkVoteOutputSerializer(counts).data)


def _dataset_or_404(dataset_id: int) -> Dataset:
    dataset = Dataset.objects.filter(pk=dataset_id).first()
    if dataset is None:
        raise not_found("Dataset", dataset_id)
    return dataset


def _taxonomy_body(dataset: Dataset) -> dict[str, Any]:
    changes = dataset.taxonomy_changes.select_related("changed_by").order_by("id")  # type: ignore[attr-defined]
    return s.TaxonomyOutputSerializer({"classes": dataset.classes, "changes": changes}).data


class TaxonomyApi(ReadApi):
    """A dataset's classes and every recorded change to them."""

    @extend_schema(
        operation_id="taxonomy_detail", tags=["review"], responses={200: s.TaxonomyOutputSerializer, **ERRORS}
    )
    def get(self, request: Request, dataset_id: int) -> Response:
        return Response(_taxonomy_body(_dataset_or_404(dataset_id)))


class TaxonomyChangeApi(CurateApi):
    """Add, rename or merge classes (each a recorded change); returns the taxonomy after it."""

    @extend_schema(
        operation_id="taxonomy_change",
        tags=["review"],
        request=s.TaxonomyChangeInputSerializer,
        responses={201: s.TaxonomyOutputSerializer, **INVALID, **ERRORS},
    )
    def post(self, request: Request, dataset_id: int) -> Response:
        data = s.TaxonomyChangeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values, dataset, user = data.validated_data, _dataset_or_404(dataset_id), cast(User, request.user)
        taxonomy_change(
            dataset=dataset,
            action=values["action"],
            name=values.get("name", ""),
            new_name=values.get("new_name", ""),
            names=values.get("names", []),
            into=values.get("into", ""),
            user=user,
        )
        dataset.refresh_from_db()
        return Response(_taxonomy_body(dataset), status=status.HTTP_201_CREATED)
