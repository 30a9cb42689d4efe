"""The sample-list API writes its members without DRF's serializer, in a fixed number of queries: what it writes is
what the serializer (the schema) writes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from curation.apis.serializers import SampleListItemOutputSerializer, sample_list_items
from curation.models import DatasetVersion, VersionSample
from curation.selectors import sample_page
from tests.curation.run_values import proposal_run_scored, version_ids
from tests.factories import DatasetVersionFactory, SampleFactory, VersionSampleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(viewer) -> APIClient:
    client = APIClient()
    client.force_authenticate(viewer)
    return client


@pytest.fixture
def version() -> DatasetVersion:
    """Members with one label, none, and two (one with a key the API does not show), real and synthetic."""
    version = DatasetVersionFactory(sample_count=4, dataset__classes=["cat", "dog"])
    for label, labels, source, split in [
        ("cat", None, "real", "train"),
        ("", None, "synthetic", "val"),
        (
            "dog",
            [{"label": "dog", "origin": "import"}, {"label": "cat", "origin": "model", "score": 0.7}],
            "real",
            "test",
        ),
        ("dog", None, "synthetic", "train"),
    ]:
        sample = SampleFactory(dataset=version.dataset, source=source, original_name=f'<{label}> "&.png', width=7)
        extra = {"labels": labels} if labels is not None else {}
        VersionSampleFactory(version=version, sample=sample, label=label, split=split, **extra)
    return version


def serialized(version: DatasetVersion, **annotations) -> list[dict]:
    members = VersionSample.objects.filter(version=version).select_related("sample").order_by("sample_id")
    return list(SampleListItemOutputSerializer(members.annotate(**annotations), many=True).data)


def test_the_items_are_what_the_serializer_writes_for_model_rows_and_page_rows(version):
    members = list(VersionSample.objects.filter(version=version).select_related("sample").order_by("sample_id"))

    assert sample_list_items(members) == serialized(version)
    assert sample_list_items(sample_page(version=version).members) == serialized(version)
    assert [list(item) for item in sample_list_items(members)] == [list(item) for item in serialized(version)]


def test_a_run_ordered_page_carries_each_members_value(api, version):
    s = version_ids(version)
    run = proposal_run_scored(version, {s[0]: 0.25, s[2]: 0.75})

    results = api.get(f"/api/versions/{version.pk}/samples/", {"sort": "-issue_score", "sort_run": run.pk}).json()

    by_id = {item["id"]: item for item in serialized(version)}
    assert results["results"] == [by_id[s[2]] | {"sort_value": 0.75}, by_id[s[0]] | {"sort_value": 0.25}]


def test_the_api_writes_what_the_serializer_writes(api, version):
    response = api.get(f"/api/versions/{version.pk}/samples/")

    assert response.json()["results"] == serialized(version)


@pytest.mark.parametrize("query", [{}, {"label": "dog"}, {"split": "train"}, {"source": "synthetic"}])
def test_a_page_costs_three_queries_whatever_its_size(api, version, query):
    api.get(f"/api/versions/{version.pk}/samples/")  # the user's role is read once (a token request: with the token)
    counts = {}
    for size in (1, 4):
        with CaptureQueriesContext(connection) as queries:
            response = api.get(f"/api/versions/{version.pk}/samples/", query | {"page_size": size})
        assert response.status_code == 200
        counts[size] = [q["sql"].split(" FROM ")[1].split()[0] for q in queries.captured_queries]

    # then each is the version (with its dataset and creator), the page's members and their samples
    tables = ['"curation_datasetversion"', '"curation_versionsample"', '"curation_sample"']
    assert counts[1] == counts[4] == tables
