"""Production settings: the default of the WSGI and Celery entry points, safe unless told otherwise.

Settings are read once per process, so each case runs in a fresh Python process with its own environment.
"""

import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

# Variables of the caller's shell that would change what the settings read.
# DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests' session fixture (tests/browser.py) while it runs;
# a server never has it, and `check --deploy` rightly refuses it (async.E001).
CLEARED = (
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)
CLEARED_PREFIXES = ("DJANGO_SECURE_", "WINNOW_API_DOCS_")

# A server loads the WSGI module before the config package (whose Celery import has a default of its own).
WSGI_LOAD = "import runpy; runpy.run_path('config/wsgi.py')"
PRINT_SETTINGS = """
import json
from django.conf import settings
print(json.dumps({name: getattr(settings, name) for name in (
    "SETTINGS_MODULE", "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SECURE_PROXY_SSL_HEADER", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "API_DOCS_PUBLIC",
)}))
"""


def run_python(code: str, *, tmp_path, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED_PREFIXES) and k not in CLEARED}
    environment.update(WINNOW_VAR_DIR=str(tmp_path / "var"), **env)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=environment,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )


def real_secret() -> str:
    return secrets.token_urlsafe(50)


def printed_settings(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_wsgi_entry_point_defaults_to_production_settings(tmp_path):
    # given no DJANGO_SETTINGS_MODULE, when the WSGI module is loaded
    code = WSGI_LOAD + "\n" + PRINT_SETTINGS

    result = run_python(code, tmp_path=tmp_path, DJANGO_SECRET_KEY=real_secret())

    assert printed_settings(result) == {
        "SETTINGS_MODULE": "config.settings.production",
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "API_DOCS_PUBLIC": False,
    }


def test_celery_app_defaults_to_production_settings(tmp_path):
    code = "from config.celery import app\nprint(app.conf.broker_url)\n" + PRINT_SETTINGS

    result = run_python(code, tmp_path=tmp_path, DJANGO_SECRET_KEY=real_secret())

    assert printed_settings(result)["SETTINGS_MODULE"] == "config.settings.production"


@pytest.mark.parametrize(
    ("entry_point", "secret"),
    [(WSGI_LOAD, None), ("import config.celery", None), (WSGI_LOAD, "winnow-insecure-development-key-change-me")],
)
def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path, entry_point, secret):
    env = {} if secret is None else {"DJANGO_SECRET_KEY": secret}

    result = run_python(entry_point + "\n" + PRINT_SETTINGS, tmp_path=tmp_path, **env)

    assert result.returncode == 1
    assert "django.core.exceptions.ImproperlyConfigured: DJANGO_SECRET_KEY is not set" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("hosts", ["127.0.0.1,winnow.example.com", "*"])
def test_production_settings_refuse_debug_on_a_non_loopback_host(tmp_path, hosts):
    code = "import django; django.setup()\n" + PRINT_SETTINGS
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_SECRET_KEY": real_secret()}

    result = run_python(code, tmp_path=tmp_path, DJANGO_DEBUG="1", DJANGO_ALLOWED_HOSTS=hosts, **env)

    assert result.returncode == 1
    assert "ImproperlyConfigured: DJANGO_DEBUG is on with non-loopback DJANGO_ALLOWED_HOSTS" in result.stderr


def test_production_settings_allow_debug_on_loopback_hosts_only(tmp_path):
    code = "import django; django.setup()\n" + PRINT_SETTINGS
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_SECRET_KEY": real_secret()}

    result = run_python(
        code, tmp_path=tmp_path, DJANGO_DEBUG="1", DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost,[::1]", **env
    )

    assert printed_settings(result)["DEBUG"] is True


def test_https_settings_come_from_the_environment(tmp_path):
    code = "import django; django.setup()\n" + PRINT_SETTINGS
    env = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": real_secret(),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_SECURE_HSTS_SECONDS": "3600",
        "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
        "DJANGO_SECURE_HSTS_PRELOAD": "false",
        "DJANGO_SECURE_PROXY_SSL_HEADER": "X-Forwarded-Scheme",
        "WINNOW_API_DOCS_PUBLIC": "1",
    }

    result = run_python(code, tmp_path=tmp_path, **env)

    assert printed_settings(result) == {
        "SETTINGS_MODULE": "config.settings.production",
        "DEBUG": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_SCHEME", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "API_DOCS_PUBLIC": True,
    }


def test_an_empty_proxy_header_variable_means_no_proxy(tmp_path):
    code = "import django; django.setup()\n" + PRINT_SETTINGS
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.production", "DJANGO_SECRET_KEY": real_secret()}

    result = run_python(code, tmp_path=tmp_path, DJANGO_SECURE_PROXY_SSL_HEADER="", **env)

    assert printed_settings(result)["SECURE_PROXY_SSL_HEADER"] is None


def deploy_check(tmp_path, settings_module: str) -> subprocess.CompletedProcess:
    code = "import sys\nfrom django.core.management import execute_from_command_line\n"
    code += "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])"
    return run_python(code, tmp_path=tmp_path, DJANGO_SETTINGS_MODULE=settings_module, DJANGO_SECRET_KEY=real_secret())


def test_check_deploy_of_production_settings_with_a_real_secret_finds_nothing(tmp_path):
    result = deploy_check(tmp_path, "config.settings.production")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_tells_the_development_settings_apart(tmp_path):
    # the same check on the local settings (DEBUG, no HSTS, no redirect, cookies over HTTP) does warn
    result = deploy_check(tmp_path, "config.settings.local")

    assert result.returncode == 1
    assert sorted(set(re.findall(r"security\.W\d+", result.stderr))) == [
        "security.W004",
        "security.W008",
        "security.W012",
        "security.W016",
        "security.W018",
    ]
