"""Keep one of each near-duplicate group: a new version without the other copies, from the duplicates page."""

import numpy as np
import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from curation.embeddings.models import DuplicateGroup, DuplicateRun
from curation.models import DatasetVersion, Sample
from tests.browser import log_in
from tests.curation.pruning.factories import embedding_set_create, member_ids, version_with_samples
from tests.e2e.test_browse import watch_for_errors


def duplicate_run_with_groups(version) -> tuple[DuplicateRun, list[int]]:
    """Near groups {0, 2, 5} (sample 5 the largest) and {1, 3}; a semantic group {3, 4}."""
    ids = [int(i) for i in member_ids(version)]
    embedding_set = embedding_set_create(version=version, vectors=np.eye(len(ids), 8, dtype=np.float32), sample_ids=ids)
    Sample.objects.filter(pk=ids[5]).update(width=640, height=480)
    run = DuplicateRun.objects.create(
        embedding_set=embedding_set, version=version, threshold=0.9, threshold_source="given", near_group_count=2
    )
    DuplicateGroup.objects.create(run=run, number=1, kind="near", size=3, sample_ids=[ids[0], ids[2], ids[5]])
    DuplicateGroup.objects.create(run=run, number=2, kind="near", size=2, sample_ids=[ids[1], ids[3]])
    DuplicateGroup.objects.create(run=run, number=3, kind="semantic", size=2, sample_ids=[ids[3], ids[4]])
    return run, ids


@pytest.mark.django_db
def test_keep_one_makes_a_child_version_without_the_extra_copies(curator):
    version = version_with_samples(8, labels=["cat", "dog"])
    run, ids = duplicate_run_with_groups(version)
    client = Client()
    client.force_login(curator)

    response = client.post(f"/embeddings/duplicates/{run.pk}/keep-one/")

    child = DatasetVersion.objects.get(parent=version)
    kept = sorted(child.members.values_list("sample_id", flat=True))
    # the largest of group 1 (sample 5) and the lowest id of group 2 stay; the semantic group is not touched
    assert kept == sorted(set(ids) - {ids[0], ids[2], ids[3]})
    assert (child.sample_count, child.operation_params["removed"], child.operation_params["duplicate_run"]) == (
        5, 3, run.pk,
    )  # fmt: skip
    assert response.status_code == 302 and response["Location"].endswith(f"?version={child.number}")
    assert sorted(version.members.values_list("sample_id", flat=True)) == sorted(ids)  # the parent is unchanged


@pytest.mark.django_db
def test_viewers_cannot_keep_one_and_nothing_is_written(viewer):
    version = version_with_samples(6, labels=["cat", "dog"])
    run, _ = duplicate_run_with_groups(version)
    client = Client()
    client.force_login(viewer)

    response = client.post(f"/embeddings/duplicates/{run.pk}/keep-one/")

    assert response.status_code == 403
    assert not DatasetVersion.objects.filter(parent=version).exists()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_duplicates_page_button_leads_to_the_new_version(live_server, page: Page, curator):
    version = version_with_samples(8, labels=["cat", "dog"])
    run, _ = duplicate_run_with_groups(version)
    errors = watch_for_errors(page)
    log_in(page, live_server.url, curator.username, next_path=f"/embeddings/duplicates/{run.pk}/")

    page.get_by_role("button", name="Keep one of each near-duplicate group").click()

    child = DatasetVersion.objects.get(parent=version)
    page.wait_for_url(f"{live_server.url}/datasets/{version.dataset_id}/?version={child.number}")
    expect(page.locator(".messages")).to_contain_text(f"v{child.number} keeps one of each near-duplicate group")
    assert child.sample_count == 5
    # the factory's samples have no stored pixels: their thumbnails answer 404, nothing else may fail
    assert [e for e in errors if "/thumbnail" not in e and "Failed to load resource" not in e] == []
