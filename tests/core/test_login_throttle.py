"""Failed-login limits on /api/auth/token/ and the login page: per username, per client IP, shared by both."""

import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.login_throttle import client_ip
from tests.factories import UserFactory

RIGHT = "pw-for-tests"
TOKEN_URL = "/api/auth/token/"
LOGIN_URL = "/accounts/login/"


@pytest.fixture(autouse=True)
def login_limits(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_USERNAME = 3
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 5
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 900
    caches["login_throttle"].clear()
    yield
    caches["login_throttle"].clear()


def obtain(username: str, password: str, ip: str = "203.0.113.7"):
    return APIClient(REMOTE_ADDR=ip).post(TOKEN_URL, {"username": username, "password": password}, format="json")


def login_page(client, username: str, password: str):
    return client.post(LOGIN_URL, {"username": username, "password": password})


def test_api_refuses_with_429_after_the_username_limit_even_the_right_password(db):
    user = UserFactory()

    wrong = [obtain(user.username, "nope").status_code for _ in range(3)]
    refused_wrong = obtain(user.username, "nope")
    refused_right = obtain(user.username, RIGHT)

    assert wrong == [400, 400, 400]
    assert refused_wrong.status_code == 429
    assert refused_right.status_code == 429
    assert refused_right["Retry-After"] == "900"
    assert refused_right.json() == {
        "error": {
            "code": "throttled",
            "message": "Too many failed login attempts. Try again later. Expected available in 900 seconds.",
            "details": None,
        }
    }
    assert not Token.objects.filter(user=user).exists()


def test_login_page_refuses_with_429_and_a_message_after_the_username_limit(client, db):
    user = UserFactory()

    wrong = [login_page(client, user.username, "nope") for _ in range(3)]
    refused = login_page(client, user.username, RIGHT)

    assert [r.status_code for r in wrong] == [200, 200, 200]
    assert "Please enter a correct username and password." in wrong[0].content.decode()
    assert refused.status_code == 429
    assert "Too many failed login attempts. Try again later." in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_api_and_login_page_count_failures_together(client, db):
    user = UserFactory()

    login_page(client, user.username, "nope")
    login_page(client, user.username, "nope")
    third = obtain(user.username, "nope")
    fourth = obtain(user.username, RIGHT)

    assert (third.status_code, fourth.status_code) == (400, 429)


def test_django_admin_login_counts_towards_the_same_limit(client, db):
    user = UserFactory(is_staff=True)
    for _ in range(3):
        client.post("/admin/login/", {"username": user.username, "password": "nope"})

    refused = client.post("/admin/login/?next=/admin/", {"username": user.username, "password": RIGHT})

    assert refused.status_code == 200
    assert "Too many failed login attempts. Try again later." in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_ip_limit_spans_usernames_and_other_addresses_are_not_affected(db):
    user = UserFactory()

    wrong = [obtain(f"guess-{i}", "nope", ip="198.51.100.1").status_code for i in range(5)]
    same_ip = obtain(user.username, RIGHT, ip="198.51.100.1")
    other_ip = obtain(user.username, RIGHT, ip="198.51.100.2")

    assert wrong == [400] * 5
    assert same_ip.status_code == 429
    assert other_ip.status_code == 200


def test_a_successful_login_clears_the_username_count(db):
    user = UserFactory()

    before = [obtain(user.username, "nope").status_code for _ in range(2)]
    success = obtain(user.username, RIGHT, ip="198.51.100.3")
    after = [obtain(user.username, "nope").status_code for _ in range(2)]

    assert (before, success.status_code, after) == ([400, 400], 200, [400, 400])


def test_missing_credentials_are_not_counted(db):
    user = UserFactory()

    missing = [APIClient().post(TOKEN_URL, {"username": user.username}, format="json").status_code for _ in range(5)]

    assert missing == [400] * 5
    assert obtain(user.username, RIGHT).status_code == 200


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [(0, "1.1.1.1", "10.0.0.9"), (1, "1.1.1.1, 192.0.2.4", "192.0.2.4"), (2, "1.1.1.1, 192.0.2.4", "1.1.1.1")],
)
def test_client_ip_trusts_only_addresses_appended_by_the_configured_proxies(
    settings, rf, num_proxies, forwarded, expected
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    request = rf.get("/", REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)

    assert client_ip(request) == expected


def throttle_process(code: str, *, tmp_path, cache_url: str) -> str:
    """Run `code` in a new process with local settings (as another web worker would); returns its output."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "WINNOW_CACHE_URL")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.local", WINNOW_VAR_DIR=str(tmp_path / "var"))
    env.update({"WINNOW_LOGIN_FAILURES_PER_USERNAME": "3", **({"WINNOW_CACHE_URL": cache_url} if cache_url else {})})
    prelude = "from core.login_throttle import *\n"  # settings and caches only: no app registry needed
    result = subprocess.run(
        [sys.executable, "-c", prelude + code],
        env=env,
        cwd=django_settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


@pytest.mark.parametrize("cache_url", ["redis://127.0.0.1:6379/12", ""], ids=["redis", "files-under-var"])
def test_failures_counted_by_one_process_refuse_logins_in_another(tmp_path, cache_url):
    # given three failures (from three addresses) recorded by one process with the configured cache
    username = f"victim-{uuid.uuid4().hex}"
    ips = [f"192.0.2.{i}" for i in range(3)]
    throttle_process(
        f"for ip in {ips!r}: login_failure_record(ip=ip, username={username!r})", tmp_path=tmp_path, cache_url=cache_url
    )

    # when another process asks about that username and another one (then forgets the counts)
    check = f"print(login_refusal(ip='192.0.2.50', username={username!r}) is not None)\n"
    check += f"print(login_refusal(ip='192.0.2.50', username={username + '-other'!r}) is not None)\n"
    check += f"caches['login_throttle'].delete_many([k for ip in {ips!r} for k in _keys(ip=ip, username={username!r})])"
    answers = throttle_process(
        "from core.login_throttle import _keys\n" + check, tmp_path=tmp_path, cache_url=cache_url
    )

    # then it refuses the username it did not count itself, and only that one
    assert answers.splitlines() == ["True", "False"]
