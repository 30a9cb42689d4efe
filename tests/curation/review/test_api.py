"""The review API over HTTP: status codes, structured errors, and that refused requests write nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core.roles import Role
from curation.models import DatasetVersion
from curation.review.models import ReviewQueue, ReviewVote
from jobs.models import Job
from tests.curation.review.conftest import vote_rows
from tests.factories import UserFactory


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_a_reviewer_works_an_item_through_the_api(small_queue, reviewers):
    queue = small_queue(n_items=2)
    api = client_for(reviewers[0])

    next_item = api.get(f"/api/review-queues/{queue.pk}/next/").json()["item"]
    url = f"/api/review-items/{next_item['id']}/"
    first = api.post(f"{url}votes/", {"label": "dog", "vote": "yes", "request_id": "k-1"}, format="json")
    repeat = api.post(f"{url}votes/", {"label": "dog", "vote": "yes", "request_id": "k-1"}, format="json")
    submitted = api.post(f"{url}submit/")

    assert [c["label"] for c in next_item["candidates"]] == ["cat", "dog"]
    assert next_item["candidates"][1]["sources"] == [{"source": "confident_learning", "score": 0.8}]
    assert (first.status_code, repeat.status_code) == (201, 200)
    assert first.json()["id"] == repeat.json()["id"] and repeat.json()["created"] is False
    assert submitted.status_code == 200
    assert (submitted.json()["state"], submitted.json()["consensus_labels"]) == ("agreed", ["dog"])
    following = api.get(f"/api/review-queues/{queue.pk}/next/", {"exclude": next_item["id"]}).json()["item"]
    assert following["position"] == 2


def test_the_api_item_skips_the_page_only_neighbour_search_and_latest_version_lookup(small_queue, reviewers):
    # given a queue item
    queue = small_queue(n_items=1)
    api = client_for(reviewers[0])

    # when a reviewer reads it through the API (next, then the item itself)
    with CaptureQueriesContext(connection) as queries:
        claimed = api.get(f"/api/review-queues/{queue.pk}/next/").json()["item"]
        again = api.get(f"/api/review-items/{claimed['id']}/").json()

    # then neither request looked for an embedding set (neighbours) or the dataset's versions: the API answers neither
    sql = " ".join(query["sql"] for query in queries.captured_queries)
    assert claimed["id"] == again["id"] and "neighbours" not in again
    assert "embeddings_embeddingset" not in sql
    assert 'ORDER BY "curation_datasetversion"."number" DESC' not in sql


def test_refused_votes_answer_structured_errors_and_write_nothing(small_queue, reviewers):
    queue = small_queue(n_items=1)
    item = queue.items.get()
    url = f"/api/review-items/{item.pk}/votes/"
    outsider = client_for(UserFactory(role=Role.REVIEWER))

    assert error(outsider.post(url, {"label": "dog", "vote": "yes"}, format="json")) == (403, "not_assigned")
    assert error(client_for(reviewers[0]).post(url, {"label": "zebra", "vote": "yes"}, format="json")) == (
        400, "label_not_in_taxonomy",
    )  # fmt: skip
    assert error(client_for(reviewers[0]).post(url, {"label": "dog", "vote": "sure"}, format="json")) == (
        400, "validation_error",
    )  # fmt: skip
    assert error(client_for(reviewers[0]).post("/api/review-items/999999/votes/", {"label": "dog", "vote": "yes"})) == (
        404, "not_found",
    )  # fmt: skip
    assert error(outsider.get(f"/api/review-queues/{queue.pk}/next/")) == (403, "not_assigned")
    assert vote_rows(queue) == []


def test_a_vote_from_a_stale_page_answers_409_with_the_consensus(small_queue, reviewers):
    queue = small_queue(n_items=1)
    item = queue.items.get()
    client_for(reviewers[0]).post(f"/api/review-items/{item.pk}/submit/")

    response = client_for(reviewers[1]).post(
        f"/api/review-items/{item.pk}/votes/", {"label": "dog", "vote": "yes"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "consensus_reached"
    assert response.json()["error"]["details"] == {"state": "agreed", "consensus_labels": []}
    assert not ReviewVote.objects.filter(reviewer=reviewers[1]).exists()


def test_undo_and_the_vote_audit(small_queue, reviewers):
    queue = small_queue(n_items=1)
    item = queue.items.get()
    api = client_for(reviewers[0])
    api.post(f"/api/review-items/{item.pk}/votes/", {"label": "dog", "vote": "yes"}, format="json")

    undone = api.post(f"/api/review-queues/{queue.pk}/undo/").json()
    nothing = api.post(f"/api/review-queues/{queue.pk}/undo/").json()
    audit = client_for(UserFactory(role=Role.VIEWER)).get(f"/api/review-queues/{queue.pk}/votes/").json()

    assert (undone["undone"], undone["item"], undone["vote"]["label"], undone["vote"]["is_current"]) == (
        "vote",
        item.pk,
        "dog",
        False,
    )
    assert nothing == {"undone": None, "item": None, "vote": None}
    assert [(v["reviewer"], v["label"], v["vote"], v["undone_at"] is not None) for v in audit["results"]] == [
        ("rev0", "dog", "yes", True)
    ]


def test_curators_create_queues_apply_them_and_edit_the_taxonomy(small_queue, reviewers):
    queue = small_queue(n_items=1)
    curator = client_for(UserFactory(role=Role.CURATOR))
    version = queue.version

    empty = curator.post(
        f"/api/versions/{version.pk}/review-queues/", {"name": "x", "filter": {"min_score": 0.99}}, format="json"
    )
    created = curator.post(
        f"/api/versions/{version.pk}/review-queues/",
        {"name": "second look", "filter": {"sources": ["confident_learning"]}, "reviewers": [reviewers[1].pk]},
        format="json",
    )
    not_yet = curator.post(f"/api/review-queues/{queue.pk}/apply/", {}, format="json")
    client_for(reviewers[0]).post(f"/api/review-items/{queue.items.get().pk}/submit/")
    applied = curator.post(f"/api/review-queues/{queue.pk}/apply/", {}, format="json")
    again = curator.post(f"/api/review-queues/{queue.pk}/apply/", {}, format="json")
    renamed = curator.post(
        f"/api/datasets/{version.dataset_id}/taxonomy/changes/",
        {"action": "rename", "name": "dog", "new_name": "hound"},
        format="json",
    )

    assert error(empty) == (400, "empty_filter")
    assert created.status_code == 201
    assert (created.json()["item_count"], created.json()["reviewers"]) == (
        1,
        [{"id": reviewers[1].pk, "username": "rev1"}],
    )
    assert error(not_yet) == (400, "nothing_agreed")
    assert (applied.status_code, again.status_code, applied.json()["version"]) == (201, 200, again.json()["version"])
    assert DatasetVersion.objects.get(pk=applied.json()["version"]).operation == "relabel"
    assert renamed.status_code == 201
    assert renamed.json()["classes"] == ["cat", "hound", "bird"]
    assert [c["action"] for c in renamed.json()["changes"]] == ["rename"]
    assert ReviewQueue.objects.count() == 2


def test_starting_a_proposal_job_answers_202(noisy_version):
    curator = client_for(UserFactory(role=Role.CURATOR))

    response = curator.post(
        "/api/proposal-runs/",
        {"version": noisy_version.version.pk, "source": "confident_learning", "folds": 3},
        format="json",
    )
    refused = curator.post(
        "/api/proposal-runs/", {"version": noisy_version.version.pk, "source": "oracle"}, format="json"
    )

    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["job"])
    assert (job.kind, job.params["folds"], job.params["source"]) == ("label_proposals", 3, "confident_learning")
    assert error(refused) == (400, "invalid_source")
    assert Job.objects.count() == 1


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER])
def test_only_curators_create_queues(noisy_version, role):
    response = client_for(UserFactory(role=role)).post(
        f"/api/versions/{noisy_version.version.pk}/review-queues/", {"name": "x"}, format="json"
    )

    assert error(response) == (403, "permission_denied")
