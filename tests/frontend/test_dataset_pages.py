"""The datasets list and the dataset page: exact facts, version choice and chart data."""

import re

import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains, assertInHTML, assertNotContains

from core.roles import Role
from curation.models import Sample, VersionOperation
from tests.factories import DatasetFactory, DatasetVersionFactory, SampleFactory, VersionSampleFactory
from tests.frontend.page_text import json_script, table_rows

pytestmark = pytest.mark.django_db


def test_datasets_list_shows_each_dataset_from_its_latest_version(viewer_client):
    # given two datasets, one with two versions, one without any
    shapes = DatasetFactory(name="shapes", description="Drawn shapes.", classes=["cat", "dog", "bird"])
    DatasetVersionFactory(dataset=shapes, number=1, sample_count=18)
    DatasetVersionFactory(dataset=shapes, number=2, sample_count=1500)
    DatasetFactory(name="annotated", classes=[])

    # when the list is opened
    response = viewer_client.get(reverse("frontend:dataset_list"))

    # then datasets come by name with their latest version, its sample count and their class count
    facts = [
        (d.name, d.latest_version_number, d.latest_sample_count, d.version_count, len(d.classes))
        for d in response.context["datasets"]
    ]
    assert facts == [("annotated", None, None, 0, 0), ("shapes", 2, 1500, 2, 3)]
    assertInHTML("<dd>v2 <span class='muted'>of 2</span></dd>", response.content.decode(), count=1)
    assertInHTML("<dd>1,500</dd>", response.content.decode(), count=1)
    assertContains(response, f'href="/datasets/{shapes.pk}/v/2/samples/"', count=1)
    assertContains(response, "Drawn shapes.", count=1)


def test_datasets_list_queries_do_not_grow_with_the_number_of_datasets(viewer_client, django_assert_num_queries):
    # given twelve datasets with versions
    for index in range(12):
        DatasetVersionFactory(dataset=DatasetFactory(name=f"set-{index:02d}"), number=1, sample_count=index)

    # when the list is opened, then it costs session, user with roles and one query for all datasets
    with django_assert_num_queries(3):
        response = viewer_client.get(reverse("frontend:dataset_list"))
    assert len(response.context["datasets"]) == 12


def test_empty_datasets_list_says_how_to_build_the_demo_or_import(viewer_client):
    # given no datasets, when the list is opened
    response = viewer_client.get(reverse("frontend:dataset_list"))

    # then it names the demo command and links the import page
    assertContains(response, "<code>python manage.py build_demo_dataset</code>", count=1, html=True)
    assertContains(response, 'href="/datasets/import/"', count=1)


def test_navigation_shows_import_to_curators_and_admin_to_admins(client, viewer, curator, admin_user, user_with_role):
    # (the Django admin lets in staff only: an admin by role without is_staff gets no link that would refuse them)
    staff_admin = user_with_role(Role.ADMIN, is_staff=True)
    pages = {}
    for user in (viewer, curator, admin_user, staff_admin):
        client.force_login(user)
        pages[user.username] = client.get(reverse("frontend:dataset_list")).content.decode()

    def nav_links(html: str) -> list[str]:
        nav = re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)
        return re.findall(r">([^<>]+)</a>", nav)

    everyone = [
        "Jobs",
        "Embeddings",
        "Pruning",
        "Review",
        "Training",
        "Evaluations",
        "Grad-CAM",
        "Spurious",
        "Failure slices",
        "Confidence thresholds",  # a generic report kind (robustness.reports): its entry is generated
        "Synthetic",
    ]
    assert nav_links(pages[viewer.username]) == ["Datasets", *everyone, "API docs"]
    assert nav_links(pages[curator.username]) == ["Datasets", "Import", *everyone, "Exports", "API docs"]
    assert nav_links(pages[admin_user.username]) == ["Datasets", "Import", *everyone, "Exports", "API docs"]
    assert nav_links(pages[staff_admin.username]) == ["Datasets", "Import", *everyone, "Exports", "Admin", "API docs"]


@pytest.fixture
def two_versions():
    """v1 (import): 3 cats train, 1 cat test, 2 dogs val, 1 unlabeled; v2 (prune) keeps 2 cats."""
    dataset = DatasetFactory(name="pets", classes=["dog", "cat"])
    first = DatasetVersionFactory(dataset=dataset, number=1, sample_count=7, operation=VersionOperation.IMPORT)
    second = DatasetVersionFactory(
        dataset=dataset, number=2, parent=first, sample_count=2, operation=VersionOperation.PRUNE
    )
    sizes = [(32, 24), (40, 30), (64, 64), (100, 20), (20, 150), (150, 149), (10, 10)]
    specs = [("cat", "train")] * 3 + [("cat", "test"), ("dog", "val"), ("dog", "val"), ("", "unassigned")]
    members = []
    for (label, split), (width, height) in zip(specs, sizes, strict=True):
        sample = SampleFactory(dataset=dataset, width=width, height=height)
        members.append(VersionSampleFactory(version=first, sample=sample, label=label, split=split))
    for member in members[:2]:
        VersionSampleFactory(version=second, sample=member.sample, label="cat", split="train")
    return dataset, first, second


def test_dataset_page_charts_hold_the_counts_of_the_latest_version_by_default(viewer_client, two_versions):
    # given a dataset whose latest version has 2 cats in train
    dataset, _first, second = two_versions

    # when the dataset page is opened without ?version
    response = viewer_client.get(reverse("frontend:dataset_detail", args=[dataset.pk]))

    # then it shows v2, and the class chart holds exactly its counts
    assert response.context["version"] == second
    class_figure = json_script(response.content.decode(), "class-figure")
    assert [(t["name"], t["x"], t["y"]) for t in class_figure["data"]] == [("train", ["cat"], [2])]
    assert class_figure["layout"]["barmode"] == "group"


def test_dataset_page_for_a_chosen_version_counts_classes_per_split_and_bins_image_sizes(viewer_client, two_versions):
    # given v1 with cats, dogs and an unlabeled sample in three splits, longest sides 32..150 px
    dataset, _first, _second = two_versions

    # when the dataset page is opened at ?version=1
    response = viewer_client.get(reverse("frontend:dataset_detail", args=[dataset.pk]), {"version": 1})

    # then the grouped bars follow the taxonomy order (dog, cat) with unlabeled last, one trace per split
    html = response.content.decode()
    class_figure = json_script(html, "class-figure")
    assert [(t["name"], t["x"], t["y"]) for t in class_figure["data"]] == [
        ("train", ["dog", "cat", "(unlabeled)"], [0, 3, 0]),
        ("val", ["dog", "cat", "(unlabeled)"], [2, 0, 0]),
        ("test", ["dog", "cat", "(unlabeled)"], [0, 1, 0]),
        ("unassigned", ["dog", "cat", "(unlabeled)"], [0, 0, 1]),
    ]
    # and the size histogram bins longest sides 32, 40, 64, 100, 150, 150, 10 into 10-px bins from 10
    size_figure = json_script(html, "size-figure")
    (trace,) = size_figure["data"]
    assert trace["y"] == [1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 2]
    assert trace["customdata"][0] == [10, 19]
    assert trace["customdata"][-1] == [150, 159]
    assert trace["width"] == [10] * 15
    # and the accessible table repeats the numbers with totals
    assert table_rows(html, "class-table") == [
        ["Label", "train", "val", "test", "unassigned", "Total"],
        ["dog", "0", "2", "0", "0", "2"],
        ["cat", "3", "0", "1", "0", "4"],
        ["(unlabeled)", "0", "0", "0", "1", "1"],
    ]


def test_dataset_page_lists_versions_with_operation_parent_count_and_browse_link(viewer_client, two_versions):
    # given two versions, v2 made from v1 by pruning
    dataset, first, second = two_versions

    # when the dataset page is opened
    response = viewer_client.get(reverse("frontend:dataset_detail", args=[dataset.pk]))

    # then the versions table has one row per version, newest first
    assert table_rows(response.content.decode(), "versions-table") == [
        ["Version", "Operation", "Parent", "Samples", "Created", "Actions"],
        ["v2", "Prune", "v1", "2", f"{second.created_at:%Y-%m-%d %H:%M}", "Browse v2 · Masks of v2"],
        ["v1", "Import", "—", "7", f"{first.created_at:%Y-%m-%d %H:%M}", "Browse v1 · Masks of v1"],
    ]
    assertContains(response, f'href="/datasets/{dataset.pk}/v/1/samples/"', count=1)


@pytest.mark.parametrize("version", ["3", "abc", "-1"])
def test_dataset_page_for_a_version_that_does_not_exist_is_404(viewer_client, two_versions, version):
    dataset, _first, _second = two_versions
    response = viewer_client.get(reverse("frontend:dataset_detail", args=[dataset.pk]), {"version": version})
    assert response.status_code == 404


def test_dataset_without_versions_says_so_and_draws_no_chart(viewer_client):
    dataset = DatasetFactory(name="empty")
    response = viewer_client.get(reverse("frontend:dataset_detail", args=[dataset.pk]))
    assertContains(response, "This dataset has no versions yet.", count=1)
    assertNotContains(response, "plotly.min.js")
    assert Sample.objects.count() == 0
