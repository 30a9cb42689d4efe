"""A token-authenticated API call reads the token, its user and the user's roles in one statement (the permission
check of every call needs the roles; review_load's 20 clients make thousands of such calls)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import Role
from core.tokens import token_issue

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", [Role.VIEWER, Role.REVIEWER, Role.CURATOR, Role.ADMIN])
def test_a_token_call_reads_the_roles_with_the_token(user_with_role, role):
    user = user_with_role(role)
    client = APIClient()
    token = token_issue(user=user)

    with CaptureQueriesContext(connection) as queries:
        me = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert me.status_code == 200
    assert me.json()["roles"] == [role.value]
    reads_of_groups = [q["sql"] for q in queries.captured_queries if "auth_group" in q["sql"]]
    assert len(reads_of_groups) == 1 and Token._meta.db_table in reads_of_groups[0]


def test_a_user_without_a_role_has_none(user_with_role):
    user = user_with_role(None)
    token = token_issue(user=user)

    response = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert (response.status_code, response.json()["roles"], response.json()["capabilities"]) == (200, [], [])
