"""Every browsing page and media endpoint needs a login and the VIEW capability."""

import pytest
from django.urls import reverse

from tests.factories import VersionSampleFactory

pytestmark = pytest.mark.django_db


def browsing_urls(member) -> list[str]:
    dataset_id, number, sample_id = member.version.dataset_id, member.version.number, member.sample_id
    return [
        reverse("frontend:dataset_list"),
        reverse("frontend:dataset_detail", args=[dataset_id]),
        reverse("frontend:sample_grid", args=[dataset_id, number]),
        reverse("frontend:sample_detail", args=[dataset_id, number, sample_id]),
        reverse("frontend:sample_image", args=[sample_id]),
        reverse("frontend:sample_thumbnail", args=[sample_id]),
        reverse("frontend:sample_mask", args=[sample_id]),
        reverse("frontend:sample_mask_overlay", args=[sample_id]),
    ]


def test_logged_out_visitors_are_redirected_to_the_login_page(client):
    # given a sample with a mask and nobody logged in
    member = VersionSampleFactory(sample__mask_box=(2, 2, 10, 10))

    # when every page and media URL is requested
    responses = {url: client.get(url) for url in browsing_urls(member)}

    # then each answers with a redirect to the login form that comes back here
    assert {url: (r.status_code, r["Location"]) for url, r in responses.items()} == {
        url: (302, f"/accounts/login/?next={url}") for url in responses
    }


def test_a_user_without_a_role_gets_403_everywhere(client, user_with_role):
    # given a logged-in user who belongs to no role group
    member = VersionSampleFactory(sample__mask_box=(2, 2, 10, 10))
    client.force_login(user_with_role(None))

    # when every page and media URL is requested
    statuses = {url: client.get(url).status_code for url in browsing_urls(member)}

    # then every one is refused
    assert statuses == dict.fromkeys(statuses, 403)


@pytest.mark.parametrize("role_fixture", ["viewer", "reviewer", "curator", "admin_user"])
def test_every_role_can_browse(client, request, role_fixture):
    # given a user with any role
    member = VersionSampleFactory(sample__mask_box=(2, 2, 10, 10))
    client.force_login(request.getfixturevalue(role_fixture))

    # when every page and media URL is requested
    statuses = {url: client.get(url).status_code for url in browsing_urls(member)}

    # then all of them answer
    assert statuses == dict.fromkeys(statuses, 200)
