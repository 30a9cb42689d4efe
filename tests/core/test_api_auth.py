"""Token authentication for scripts: obtain a token, use it, and the structured refusals."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import Role


def test_token_obtained_with_username_and_password_authenticates_api_calls(user_with_role):
    user = user_with_role(Role.VIEWER)
    client = APIClient()

    obtained = client.post("/api/auth/token/", {"username": user.username, "password": "pw-for-tests"}, format="json")
    me = client.get("/api/me/", HTTP_AUTHORIZATION=f"Token {obtained.json()['token']}")

    assert obtained.status_code == 200
    assert obtained.json() == {"token": Token.objects.get(user=user).key}
    assert me.status_code == 200
    assert me.json() == {"username": user.username, "roles": ["viewer"], "capabilities": ["view"]}


def test_obtaining_a_token_twice_returns_the_same_token(user_with_role):
    user = user_with_role(Role.CURATOR)
    client = APIClient()
    credentials = {"username": user.username, "password": "pw-for-tests"}

    first = client.post("/api/auth/token/", credentials, format="json").json()
    second = client.post("/api/auth/token/", credentials, format="json").json()

    assert first == second
    assert Token.objects.filter(user=user).count() == 1


def test_wrong_password_is_a_structured_400_and_creates_no_token(user_with_role):
    user = user_with_role(Role.VIEWER)

    response = APIClient().post("/api/auth/token/", {"username": user.username, "password": "nope"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "validation_error",
            "message": "The request payload is invalid.",
            "details": {"non_field_errors": ["Unable to log in with provided credentials."]},
        }
    }
    assert not Token.objects.filter(user=user).exists()


def test_missing_credentials_are_a_structured_400(db):
    response = APIClient().post("/api/auth/token/", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert response.json()["error"]["details"] == {
        "username": ["This field is required."],
        "password": ["This field is required."],
    }


def test_no_token_is_a_structured_401_with_a_token_challenge(db):
    response = APIClient().get("/api/me/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json() == {
        "error": {
            "code": "not_authenticated",
            "message": "Authentication credentials were not provided.",
            "details": None,
        }
    }


def test_unknown_token_is_a_structured_401(db):
    response = APIClient().get("/api/datasets/", HTTP_AUTHORIZATION="Token 0123456789abcdef")

    assert response.status_code == 401
    assert response.json() == {"error": {"code": "authentication_failed", "message": "Invalid token.", "details": None}}


def test_token_of_a_user_without_role_reaches_me_but_not_the_data(user_with_role):
    user = user_with_role(None)
    token = Token.objects.create(user=user)
    client = APIClient(HTTP_AUTHORIZATION=f"Token {token.key}")

    me = client.get("/api/me/")
    datasets = client.get("/api/datasets/")

    assert me.json() == {"username": user.username, "roles": [], "capabilities": []}
    assert datasets.status_code == 403
    assert datasets.json()["error"]["code"] == "permission_denied"


def test_token_of_an_inactive_user_is_refused(user_with_role):
    user = user_with_role(Role.ADMIN)
    token = Token.objects.create(user=user)
    user.is_active = False
    user.save()

    response = APIClient().get("/api/me/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 401
    assert response.json() == {
        "error": {"code": "authentication_failed", "message": "User inactive or deleted.", "details": None}
    }
