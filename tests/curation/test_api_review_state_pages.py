"""The review-state filter pages through a version with the keyset cursor: every page a semi-join of the items in
that state (of the version's queues, or of one), bounded by the cursor on both sides (issue #19 item 5)."""

import pytest
from django.test import Client

from curation.review.models import ReviewItem
from curation.review.services.queues import review_queue_create
from tests.curation.pruning.factories import member_ids, version_with_samples

pytestmark = pytest.mark.django_db


def every_page(client: Client, url: str, **params) -> list[list[int]]:
    pages, response = [], client.get(url, {**params, "page_size": 2})
    while True:
        assert response.status_code == 200, response.content
        pages.append([row["id"] for row in response.json()["results"]])
        if not response.json()["next"]:
            return pages
        response = client.get(response.json()["next"])


def test_review_state_pages_list_each_state_once_in_sample_order(viewer, curator):
    # given a version of 12 samples with two queues (cats, dogs), some items disputed, and a queue of another version
    version = version_with_samples(12, labels=["cat", "dog"])
    ids = [int(i) for i in member_ids(version)]
    cats = review_queue_create(version=version, name="cats", filter={"classes": ["cat"]}, reviewer_ids=[curator.pk])
    dogs = review_queue_create(version=version, name="dogs", filter={"classes": ["dog"]}, reviewer_ids=[curator.pk])
    ReviewItem.objects.filter(queue=cats, sample_id__in=ids[:4]).update(state="disputed")
    ReviewItem.objects.filter(queue=dogs, sample_id__in=ids[-3:]).update(state="disputed")
    elsewhere = version_with_samples(3)
    other = review_queue_create(version=elsewhere, name="other", filter={"classes": ["cat"]}, reviewer_ids=[curator.pk])
    client = Client()
    client.force_login(viewer)
    url = f"/api/versions/{version.pk}/samples/"

    # when every page of each filter is read, two members a page
    disputed = every_page(client, url, review_state="disputed")
    open_cats = every_page(client, url, review_state="open", review_queue=cats.pk)
    foreign = every_page(client, url, review_state="open", review_queue=other.pk)

    # then each lists exactly its items, in sample order, each once, across the pages
    expected = sorted(
        ReviewItem.objects.filter(queue__version=version, state="disputed").values_list("sample_id", flat=True)
    )
    assert [i for page in disputed for i in page] == expected
    assert all(len(page) == 2 for page in disputed[:-1])
    expected_open = sorted(ReviewItem.objects.filter(queue=cats, state="open").values_list("sample_id", flat=True))
    assert [i for page in open_cats for i in page] == expected_open
    assert foreign == [[]]
