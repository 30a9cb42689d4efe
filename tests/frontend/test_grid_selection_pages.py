"""Grid search across keyset pages, and the selection's bulk-action views without a browser."""

import pytest
from django.urls import reverse

from curation.models import DatasetVersion, VersionSample
from curation.selectors import sample_page
from frontend.pages import datasets as dataset_pages
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def named_version() -> DatasetVersion:
    """Six members: file names a_0 .. a_5, captions "red" for the even ones and "blue" for the odd."""
    version = DatasetVersionFactory(sample_count=6)
    for index in range(6):
        colour = "red" if index % 2 == 0 else "blue"
        sample = SampleFactory(dataset=version.dataset, original_name=f"a_{index}.png", caption=f"a {colour} one")
        VersionSampleFactory(version=version, sample=sample)
    return version


def _ids(version: DatasetVersion) -> list[int]:
    return list(VersionSample.objects.filter(version=version).order_by("sample_id").values_list("sample_id", flat=True))


def test_a_search_pages_with_the_keyset_cursor(named_version):
    ids = _ids(named_version)
    first = sample_page(version=named_version, search="RED", size=2)
    second = sample_page(version=named_version, search="RED", size=2, after_sample_id=first.next_after)

    assert [m.sample_id for m in first.members] == [ids[0], ids[2]]
    assert first.next_after == ids[2]
    assert [m.sample_id for m in second.members] == [ids[4]]
    assert second.next_after is None
    assert [m.sample_id for m in sample_page(version=named_version, search="a_3").members] == [ids[3]]


def test_the_grid_counts_what_a_search_matches(client, curator, named_version):
    client.force_login(curator)
    url = reverse("frontend:sample_grid", args=[named_version.dataset_id, named_version.number])

    response = client.get(url, {"q": "blue"})

    assert response.context["matching"] == 3
    assert [m.sample_id for m in response.context["page"].members] == _ids(named_version)[1::2]
    assert 'data-filter-query="q=blue"' in response.content.decode()


def test_a_version_without_a_query_selection(client, curator, named_version):
    client.force_login(curator)
    url = reverse("frontend:grid_selection_version", args=[named_version.dataset_id, named_version.number])

    response = client.post(url, {"mode": "query", "query": "q=red", "ids": "", "keep": "0"})

    child = DatasetVersion.objects.get(dataset=named_version.dataset, number=named_version.number + 1)
    assert response.status_code == 302
    assert response["Location"] == reverse("frontend:sample_grid", args=[named_version.dataset_id, child.number])
    assert _ids(child) == _ids(named_version)[1::2]
    assert (child.parent_id, child.operation, child.sample_count) == (named_version.pk, "manual", 3)


def test_removing_everything_writes_no_version(client, curator, named_version):
    client.force_login(curator)
    url = reverse("frontend:grid_selection_version", args=[named_version.dataset_id, named_version.number])

    response = client.post(url, {"mode": "query", "query": "", "ids": "", "keep": "0"}, follow=True)

    assert DatasetVersion.objects.filter(dataset=named_version.dataset).count() == 1
    assert VersionSample.objects.count() == 6
    assert "The new version would have no sample." in response.content.decode()


def test_ids_outside_the_version_are_ignored_and_a_viewer_cannot_make_versions(client, curator, viewer, named_version):
    url = reverse("frontend:grid_selection_version", args=[named_version.dataset_id, named_version.number])
    ids = _ids(named_version)
    stranger = VersionSampleFactory().sample_id
    client.force_login(viewer)
    assert client.post(url, {"mode": "ids", "ids": f"{ids[1]},{stranger}", "keep": "1"}).status_code == 403
    assert DatasetVersion.objects.filter(dataset=named_version.dataset).count() == 1

    client.force_login(curator)
    client.post(url, {"mode": "ids", "ids": f"{ids[1]},{stranger}", "keep": "1"})

    child = DatasetVersion.objects.get(dataset=named_version.dataset, number=named_version.number + 1)
    assert _ids(child) == [ids[1]]


@pytest.fixture
def labeled_version() -> DatasetVersion:
    """Seven members labeled dog, cat, "", bird, cat, dog, cat in sample-id order."""
    version = DatasetVersionFactory(sample_count=7)
    for label in ["dog", "cat", "", "bird", "cat", "dog", "cat"]:
        VersionSampleFactory(version=version, label=label)
    return version


def _all_pages(version: DatasetVersion, order: str, size: int) -> list[int]:
    shown: list[int] = []
    after, after_label = None, None
    while True:
        page = sample_page(version=version, order=order, size=size, after_sample_id=after, after_label=after_label)
        shown += [m.sample_id for m in page.members]
        if page.next_after is None:
            return shown
        after, after_label = page.next_after, page.next_after_label


@pytest.mark.parametrize("size", [1, 2, 3, 7])
def test_sorted_pages_follow_their_keyset(labeled_version, size):
    members = list(VersionSample.objects.filter(version=labeled_version))
    by_label = [m.sample_id for m in sorted(members, key=lambda m: (m.label, m.sample_id))]

    assert _all_pages(labeled_version, "label", size) == by_label
    assert _all_pages(labeled_version, "-id", size) == sorted(_ids(labeled_version), reverse=True)
    assert _all_pages(labeled_version, "id", size) == _ids(labeled_version)


def test_the_grid_pages_in_label_order_with_its_cursor_in_the_next_link(client, viewer, labeled_version, monkeypatch):
    monkeypatch.setattr(dataset_pages, "GRID_PAGE_SIZE", 2)
    client.force_login(viewer)
    url = reverse("frontend:sample_grid", args=[labeled_version.dataset_id, labeled_version.number])
    ids = _ids(labeled_version)

    first = client.get(url, {"sort": "label", "split": "train"})
    second = client.get(f"{url}?{first.context['next_query']}")
    third = client.get(f"{url}?{second.context['next_query']}")

    assert first.context["next_query"] == f"split=train&sort=label&after={ids[3]}&after_label=bird"
    assert [m.sample_id for m in first.context["page"].members] == [ids[2], ids[3]]
    assert [m.sample_id for m in second.context["page"].members] == [ids[1], ids[4]]
    assert [m.sample_id for m in third.context["page"].members] == [ids[6], ids[0]]
    newest = client.get(url, {"sort": "-id"}).context["page"]
    assert [m.sample_id for m in newest.members] == [ids[6], ids[5]]


def test_the_grid_filters_by_review_state_and_keeps_the_set_in_its_links(client, viewer, labeled_version):
    from curation.review.models import ReviewItem, ReviewQueue

    ids = _ids(labeled_version)
    queue = ReviewQueue.objects.create(version=labeled_version, name="q", item_count=3)
    for position, (sample_id, state) in enumerate([(ids[1], "disputed"), (ids[3], "disputed"), (ids[4], "open")]):
        ReviewItem.objects.create(queue=queue, sample_id=sample_id, position=position, state=state)
    client.force_login(viewer)
    url = reverse("frontend:sample_grid", args=[labeled_version.dataset_id, labeled_version.number])

    response = client.get(url, {"review_state": "disputed", "label": "cat"})

    assert [m.sample_id for m in response.context["page"].members] == [ids[1]]
    assert response.context["matching"] == 1
    assert response.context["filter_query"] == "label=cat&review_state=disputed"
    assert '<option value="disputed" selected>' in response.content.decode()


def test_an_invalid_set_filter_is_dropped_with_a_message(client, viewer, labeled_version):
    client.force_login(viewer)
    url = reverse("frontend:sample_grid", args=[labeled_version.dataset_id, labeled_version.number])

    response = client.get(url, {"cluster_run": "999", "cluster": "1"})

    assert response.status_code == 200
    assert len(response.context["page"].members) == 7
    assert "cluster run 999 is not a finished run of this version" in response.content.decode()


def test_open_on_the_map_without_a_map_goes_to_the_embeddings_page(client, viewer, labeled_version):
    client.force_login(viewer)
    url = reverse("frontend:grid_selection_map", args=[labeled_version.dataset_id, labeled_version.number])

    response = client.get(url)

    embeddings_page = reverse("frontend:embeddings", args=[labeled_version.dataset_id, labeled_version.number])
    assert (response.status_code, response["Location"]) == (302, embeddings_page)
