"""Sample tags: tagging and untagging a selection (the service), and the sample list API's `tag` filter."""

import pytest
from django.test import Client

from core.api_errors import ApplicationError
from curation.models import SampleTag
from curation.services.tags import sample_tags_apply
from tests.curation.pruning.factories import member_ids, version_with_samples

pytestmark = pytest.mark.django_db


def test_tag_counts_only_changed_samples_and_the_api_filters_by_it(viewer):
    version = version_with_samples(6, labels=["cat", "dog"])
    ids = [int(i) for i in member_ids(version)]
    dataset = version.dataset

    assert sample_tags_apply(dataset=dataset, name=" blurry ", sample_ids=ids[:3]) == 3
    assert sample_tags_apply(dataset=dataset, name="blurry", sample_ids=ids[1:4]) == 1
    assert sample_tags_apply(dataset=dataset, name="blurry", sample_ids=[ids[0], ids[5]], remove=True) == 1
    assert sample_tags_apply(dataset=dataset, name="never", sample_ids=ids, remove=True) == 0

    client = Client()
    client.force_login(viewer)
    response = client.get(f"/api/versions/{version.pk}/samples/", {"tag": "blurry"})
    assert response.status_code == 200, response.content
    assert [row["id"] for row in response.json()["results"]] == ids[1:4]
    unknown = client.get(f"/api/versions/{version.pk}/samples/", {"tag": "never"})
    assert unknown.json()["results"] == []
    assert list(SampleTag.objects.values_list("name", flat=True)) == ["blurry"]


def test_an_empty_tag_name_is_refused_and_nothing_is_written():
    version = version_with_samples(2, labels=["cat"])
    with pytest.raises(ApplicationError) as raised:
        sample_tags_apply(dataset=version.dataset, name="  ", sample_ids=[int(i) for i in member_ids(version)])
    assert raised.value.code == "invalid_tag"
    assert SampleTag.objects.count() == 0
