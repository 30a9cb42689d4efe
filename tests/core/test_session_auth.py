"""A session's user comes with their roles in one statement (core.session_auth), and Django's session rules hold:
a password change signs the user's other sessions out, inactive and deleted users are refused, an expired session
or a logout signs out, a role change applies on the next request, a superuser holds every capability."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.roles import Capability, Role, user_role_assign
from core.session_auth import RolesModelBackend
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DATASETS = reverse("frontend:dataset_list")
IMPORT = reverse("frontend:dataset_import")  # curators and admins only
FACTORY_PASSWORD = "pw-for-tests"  # UserFactory's
NEW_PASSWORD = "Quiet-Harbour-Lantern-42"


def signed_in(user) -> Client:
    """A client signed in through the login page (the session holds the backend and the password's hash)."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": FACTORY_PASSWORD})
    assert response.status_code == 302, response.content[:300]
    return client


def signed_out(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(f"{reverse('login')}?next=")


def nav(response) -> str:
    """The page's main navigation (base.html)."""
    html = response.content.decode()
    start = html.index('<nav class="mainnav"')
    return html[start : html.index("</nav>", start)]


def test_a_page_reads_the_session_user_and_their_roles_in_one_statement(viewer):
    client = signed_in(viewer)

    with CaptureQueriesContext(connection) as queries:
        response = client.get(DATASETS)

    assert response.status_code == 200
    of_users = [q["sql"] for q in queries.captured_queries if '"auth_user' in q["sql"] or '"auth_group' in q["sql"]]
    assert len(of_users) == 1 and 'FROM "auth_user" u' in of_users[0] and '"auth_user_groups"' in of_users[0]


@pytest.mark.parametrize("role", [*Role, None])
def test_the_backend_gives_the_user_with_the_roles_their_groups_give(user_with_role, role):
    user = user_with_role(role)
    user.groups.add(Group.objects.create(name="not a role"))

    found = RolesModelBackend().get_user(str(user.pk))

    assert (found.pk, found.username, found.password) == (user.pk, user.username, user.password)
    held = set(user.groups.values_list("name", flat=True))
    assert found._winnow_roles == {r for r in Role if r.value in held} == ({role} if role else set())


def test_a_user_in_two_role_groups_holds_both(viewer):
    viewer.groups.add(Group.objects.get(name=Role.CURATOR.value))

    assert RolesModelBackend().get_user(viewer.pk)._winnow_roles == {Role.VIEWER, Role.CURATOR}


def test_the_backend_gives_none_for_a_missing_or_inactive_user(viewer):
    missing = RolesModelBackend().get_user(viewer.pk + 1000)
    viewer.is_active = False
    viewer.save()

    assert (missing, RolesModelBackend().get_user(viewer.pk)) == (None, None)


def test_a_password_change_signs_the_users_other_sessions_out(viewer):
    # given the same user signed in twice, and another user
    other_session, changing = signed_in(viewer), signed_in(viewer)
    bystander = signed_in(UserFactory(role=Role.VIEWER))

    # when one session changes the password on the password-change page
    response = changing.post(
        "/accounts/password_change/",
        {"old_password": FACTORY_PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    # then that session stays signed in, the other one is signed out (and stays so), the other user's is untouched
    assert response.status_code == 302
    assert changing.get(DATASETS).status_code == 200
    assert signed_out(other_session.get(DATASETS)) and signed_out(other_session.get(DATASETS))
    assert bystander.get(DATASETS).status_code == 200


def test_a_password_set_elsewhere_signs_every_session_out(viewer):
    client = signed_in(viewer)
    assert client.get(DATASETS).status_code == 200

    viewer.set_password(NEW_PASSWORD)  # as Django admin or manage.py changepassword do
    viewer.save()

    assert signed_out(client.get(DATASETS))


def test_an_inactive_user_is_refused_on_the_next_request(viewer):
    client = signed_in(viewer)
    assert client.get(DATASETS).status_code == 200

    type(viewer).objects.filter(pk=viewer.pk).update(is_active=False)

    assert signed_out(client.get(DATASETS))
    assert client.get("/api/me/").status_code in (401, 403)


def test_a_deleted_user_is_signed_out(viewer):
    client = signed_in(viewer)

    viewer.delete()

    assert signed_out(client.get(DATASETS))


def test_an_expired_session_is_signed_out(viewer):
    client = signed_in(viewer)
    assert client.get(DATASETS).status_code == 200

    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))

    assert signed_out(client.get(DATASETS))


def test_logout_signs_the_session_out(viewer):
    client = signed_in(viewer)
    assert client.get(DATASETS).status_code == 200

    assert client.post(reverse("logout")).status_code in (200, 302)

    assert signed_out(client.get(DATASETS))


def test_a_role_change_applies_on_the_next_request(viewer):
    client = signed_in(viewer)
    assert client.get(IMPORT).status_code == 403
    assert IMPORT not in nav(client.get(DATASETS))

    user_role_assign(user=viewer, role=Role.CURATOR)

    assert client.get(IMPORT).status_code == 200
    assert f'href="{IMPORT}"' in nav(client.get(DATASETS))
    assert client.get("/api/me/").json()["roles"] == ["curator"]

    user_role_assign(user=viewer, role=Role.VIEWER)

    assert client.get(IMPORT).status_code == 403
    assert client.get("/api/me/").json()["roles"] == ["viewer"]


def test_a_superuser_without_a_role_holds_every_capability():
    superuser = UserFactory(role=None, is_superuser=True, is_staff=True)
    client = signed_in(superuser)

    me = client.get("/api/me/").json()

    assert (me["roles"], me["capabilities"]) == (["admin"], sorted(c.value for c in Capability))
    assert client.get(IMPORT).status_code == 200
    assert f'href="{reverse("admin:index")}"' in nav(client.get(DATASETS))
