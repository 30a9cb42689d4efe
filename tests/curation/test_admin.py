"""Django admin of the curation models: every page opens, and immutable rows stay immutable."""

import pytest
from django.test import Client

from curation.models import DatasetVersion, SampleAlias
from tests.factories import UserFactory, VersionSampleFactory


@pytest.fixture
def staff_client(db) -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def member(db):
    member = VersionSampleFactory()
    SampleAlias.objects.create(dataset=member.sample.dataset, sample=member.sample, original_name="copy.png")
    return member


@pytest.mark.parametrize("model", ["dataset", "datasetversion", "sample", "versionsample", "samplealias"])
def test_every_curation_changelist_and_change_page_opens(staff_client, member, model):
    rows = {
        "dataset": member.version.dataset,
        "datasetversion": member.version,
        "sample": member.sample,
        "versionsample": member,
        "samplealias": member.sample.aliases.get(),
    }

    changelist = staff_client.get(f"/admin/curation/{model}/")
    change = staff_client.get(f"/admin/curation/{model}/{rows[model].pk}/change/")

    assert changelist.status_code == 200
    assert change.status_code == 200


def test_changelist_search_finds_a_sample_by_exact_hash(staff_client, member):
    response = staff_client.get("/admin/curation/sample/", {"q": member.sample.sha256})

    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [member.sample]


@pytest.mark.parametrize("model", ["datasetversion", "versionsample", "samplealias"])
def test_immutable_rows_cannot_be_added_changed_or_deleted(staff_client, member, model):
    pk = {"datasetversion": member.version.pk, "versionsample": member.pk}.get(model, member.sample.aliases.get().pk)

    change_page = staff_client.get(f"/admin/curation/{model}/{pk}/change/")
    change_post = staff_client.post(f"/admin/curation/{model}/{pk}/change/", {"note": "edited"})
    delete = staff_client.post(f"/admin/curation/{model}/{pk}/delete/", {"post": "yes"})
    add = staff_client.get(f"/admin/curation/{model}/add/")

    assert b'name="_save"' not in change_page.content
    assert (change_post.status_code, delete.status_code, add.status_code) == (403, 403, 403)
    assert DatasetVersion.objects.filter(pk=member.version.pk, note="").exists()


def test_a_sample_caption_is_editable_but_its_facts_are_not(staff_client, member):
    sample = member.sample
    sha256 = sample.sha256

    response = staff_client.post(
        f"/admin/curation/sample/{sample.pk}/change/", {"caption": "a cat", "sha256": "0" * 64, "width": 1}
    )

    sample.refresh_from_db()
    assert response.status_code == 302
    assert (sample.caption, sample.width, sample.sha256) == ("a cat", 32, sha256)


def test_datasets_cannot_be_deleted_from_the_admin(staff_client, member):
    dataset = member.version.dataset

    response = staff_client.post(f"/admin/curation/dataset/{dataset.pk}/delete/", {"post": "yes"})

    assert response.status_code == 403
    assert type(dataset).objects.filter(pk=dataset.pk).exists()


def test_the_admin_index_names_every_model_in_plain_english(staff_client):
    index = staff_client.get("/admin/").content.decode()

    assert "Sample aliases" in index
    assert "aliass" not in index and "batchs" not in index
