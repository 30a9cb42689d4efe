"""The sample list filtered by sets other features make: a cluster, a duplicate group, a review state."""

import numpy as np
import pytest
from django.test import Client

from curation.embeddings.models import DuplicateGroup, DuplicateRun
from curation.pruning.blobs import arrays_save
from curation.pruning.models import ClusterRun
from curation.review.models import ReviewItem
from curation.review.services.queues import review_queue_create
from tests.curation.pruning.factories import embedding_set_create, member_ids, version_with_samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(viewer):
    version = version_with_samples(6, labels=["cat", "dog"])
    ids = member_ids(version)
    embedding_set = embedding_set_create(version=version, vectors=np.eye(6, 8, dtype=np.float32), sample_ids=ids)
    client = Client()
    client.force_login(viewer)
    return version, [int(i) for i in ids], embedding_set, client


def listed(client: Client, version, **params) -> list[int]:
    response = client.get(f"/api/versions/{version.pk}/samples/", params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_cluster_filter_lists_exactly_that_clusters_members(world):
    version, ids, embedding_set, client = world
    key = arrays_save(
        "test/assign.npz", sample_ids=np.array(ids), cluster=np.array([0, 1, 0, 1, 1, 0]), distance=np.zeros(6)
    )
    run = ClusterRun.objects.create(
        version=version, embedding_set=embedding_set, n_clusters=2, n_samples=6, assignment_key=key, centroids_key=""
    )

    assert listed(client, version, cluster_run=run.pk, cluster=1) == [ids[1], ids[3], ids[4]]
    cats = [i for i in (ids[0], ids[2], ids[5]) if version.members.get(sample_id=i).label == "cat"]
    assert listed(client, version, cluster_run=run.pk, cluster=0, label="cat") == cats


def test_duplicate_group_and_review_state_filters_intersect(world, curator):
    version, ids, embedding_set, client = world
    run = DuplicateRun.objects.create(
        embedding_set=embedding_set, version=version, threshold=0.9, threshold_source="given"
    )
    DuplicateGroup.objects.create(run=run, number=1, kind="near", size=3, sample_ids=[ids[0], ids[2], ids[5]])
    queue = review_queue_create(version=version, name="q", filter={"classes": ["cat"]}, reviewer_ids=[curator.pk])
    ReviewItem.objects.filter(queue=queue, sample_id=ids[2]).update(state="disputed")

    group = listed(client, version, duplicate_run=run.pk, duplicate_group=1)
    disputed = listed(client, version, review_state="disputed", review_queue=queue.pk)
    both = listed(client, version, duplicate_run=run.pk, duplicate_group=1, review_state="open")

    assert group == [ids[0], ids[2], ids[5]]
    assert disputed == [ids[2]]
    open_cats = set(ReviewItem.objects.filter(queue=queue, state="open").values_list("sample_id", flat=True))
    assert both == sorted({ids[0], ids[2], ids[5]} & open_cats)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cluster_run": "1"}, "cluster_run"),
        ({"cluster_run": "999999", "cluster": "0"}, "cluster_run"),
        ({"duplicate_run": "999999", "duplicate_group": "1"}, "duplicate_run"),
        ({"review_state": "bogus"}, "review_state"),
        ({"review_queue": "1"}, "review_queue"),
        ({"cluster_run": "x", "cluster": "0"}, "cluster_run"),
    ],
)
def test_bad_set_filters_are_structured_400s(world, params, field):
    version, _ids, _set, client = world

    response = client.get(f"/api/versions/{version.pk}/samples/", params)

    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "invalid_filter" and field in body["details"]
