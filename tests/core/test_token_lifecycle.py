"""API tokens end when their owner says so: a password change voids them, the revoke endpoint deletes them;
new passwords must pass Django's validators."""

import re

import pytest
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.models import TokenPasswordBinding
from core.roles import Role

FACTORY_PASSWORD = "pw-for-tests"
NEW_PASSWORD = "quiet-harbour-lantern-42"


def obtain(username: str, password: str = FACTORY_PASSWORD) -> str:
    response = APIClient().post("/api/auth/token/", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()["token"]


def me(key: str):
    return APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Token {key}")


def test_a_password_change_voids_the_token_and_the_next_obtain_rotates_it(user_with_role):
    user = user_with_role(Role.VIEWER)
    old_key = obtain(user.username)

    user.set_password(NEW_PASSWORD)
    user.save()
    refused = me(old_key)
    new_key = obtain(user.username, NEW_PASSWORD)

    assert refused.status_code == 401
    assert refused.json() == {
        "error": {
            "code": "authentication_failed",
            "message": "Token voided by a password change: obtain a new one.",
            "details": None,
        }
    }
    assert new_key != old_key
    assert list(Token.objects.filter(user=user).values_list("key", flat=True)) == [new_key]
    assert me(new_key).status_code == 200
    assert me(old_key).json()["error"]["message"] == "Invalid token."


def test_the_password_change_page_voids_the_token(client, user_with_role):
    user = user_with_role(Role.VIEWER)
    key = obtain(user.username)
    client.force_login(user)

    changed = client.post(
        "/accounts/password_change/",
        {"old_password": "pw-for-tests", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert changed.status_code == 302
    assert me(key).status_code == 401


def test_a_token_made_elsewhere_is_bound_on_first_use_and_voided_by_a_later_change(user_with_role):
    user = user_with_role(Role.VIEWER)
    token = Token.objects.create(user=user)  # as Django admin makes one: no binding yet

    first = me(token.key)
    bound = TokenPasswordBinding.objects.filter(token=token).exists()
    user.set_password(NEW_PASSWORD)
    user.save()
    after_change = me(token.key)

    assert (first.status_code, bound, after_change.status_code) == (200, True, 401)


def test_revoke_deletes_the_callers_token(user_with_role):
    user = user_with_role(Role.CURATOR)
    key = obtain(user.username)

    revoked = APIClient().post("/api/auth/token/revoke/", HTTP_AUTHORIZATION=f"Token {key}")

    assert (revoked.status_code, revoked.json()) == (200, {"revoked": True})
    assert not Token.objects.filter(user=user).exists()
    assert not TokenPasswordBinding.objects.exists()
    assert me(key).status_code == 401
    assert obtain(user.username) != key


def test_revoke_without_credentials_is_a_structured_401(db):
    response = APIClient().post("/api/auth/token/revoke/")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("short1", "This password is too short. It must contain at least 8 characters."),
        ("password123", "This password is too common."),
        ("48213975061", "This password is entirely numeric."),
    ],
)
def test_password_change_page_enforces_the_password_validators(client, user_with_role, new_password, message):
    user = user_with_role(Role.VIEWER)
    client.force_login(user)

    response = client.post(
        "/accounts/password_change/",
        {"old_password": "pw-for-tests", "new_password1": new_password, "new_password2": new_password},
    )

    user.refresh_from_db()
    assert response.status_code == 200
    assert message in response.content.decode()
    assert user.check_password("pw-for-tests")


def test_password_similar_to_the_username_is_refused(client, user_with_role):
    user = user_with_role(Role.VIEWER, username="marguerite.delacroix")
    client.force_login(user)

    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "pw-for-tests",
            "new_password1": "Marguerite.Delacroix",
            "new_password2": "Marguerite.Delacroix",
        },
    )

    user.refresh_from_db()
    assert "The password is too similar to the username." in response.content.decode()
    assert user.check_password(FACTORY_PASSWORD)


def test_ensure_admin_generated_password_passes_the_validators(db, monkeypatch, capsys):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password

    monkeypatch.delenv("WINNOW_ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("WINNOW_ADMIN_USER", "admin-for-validators")

    call_command("ensure_admin")

    password = re.search(r"with password: (\S+)", capsys.readouterr().out).group(1)
    admin = get_user_model().objects.get(username="admin-for-validators")
    assert admin.check_password(password)
    assert validate_password(password, admin) is None


def test_ensure_admin_refuses_a_chosen_password_that_fails_the_validators(db, monkeypatch, capsys):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("WINNOW_ADMIN_USER", "admin-for-validators")
    monkeypatch.setenv("WINNOW_ADMIN_PASSWORD", "admin")

    with pytest.raises(SystemExit) as exit_info:
        call_command("ensure_admin")

    assert exit_info.value.code == 1
    assert capsys.readouterr().err == (
        "error: WINNOW_ADMIN_PASSWORD is refused: The password is too similar to the username. "
        "This password is too short. It must contain at least 8 characters. This password is too common.\n"
    )
    assert not get_user_model().objects.filter(username="admin-for-validators").exists()
