"""Server-path imports: production requires WINNOW_IMPORT_SERVER_ROOTS, and answers about paths outside
the roots exactly as about missing ones, so an admin's form cannot probe what exists on the server."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client
from rest_framework.test import APIClient

from curation.services.imports import import_params_validate
from jobs.models import Job
from tests.curation.test_import_helpers import jpeg, source_folder, write_files

pytestmark = pytest.mark.django_db
URL = "/api/datasets/imports/"


def post_source(user, source: str):
    client = APIClient()
    client.force_authenticate(user)
    return client.post(URL, {"source": source, "name": "server"}, format="json")


def test_production_settings_require_the_roots():
    # given production settings with a secret and no WINNOW_IMPORT_SERVER_ROOTS / _REQUIRED in the environment
    env = {k: v for k, v in os.environ.items() if not k.startswith("WINNOW_IMPORT_SERVER_ROOTS")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", DJANGO_SECRET_KEY="s" * 60)
    # when they are loaded
    code = "import django; django.setup(); from django.conf import settings as s; print(s.IMPORT_SERVER_ROOTS_REQUIRED)"
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=django_settings.BASE_DIR, capture_output=True)
    # then server-path imports need roots
    assert result.stdout.decode().strip() == "True", result.stderr.decode()[-2000:]


def test_without_roots_where_they_are_required_server_paths_are_disabled(admin_user, tmp_path, settings):
    # given roots required and none set, and an existing folder
    settings.IMPORT_SERVER_ROOTS, settings.IMPORT_SERVER_ROOTS_REQUIRED = [], True
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    # when an admin names it through the API and the page
    response = post_source(admin_user, str(folder))
    page = Client()
    page.force_login(admin_user)
    html = page.post("/datasets/import/", {"source": str(folder), "name": "server", "format": "auto"}).content
    # then both say server-path import is disabled, and no job exists
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (403, "server_path_disabled")
    assert error["message"].startswith("Importing from a server path is disabled on this server")
    assert "Importing from a server path is disabled on this server" in html.decode()
    assert Job.objects.count() == 0


def test_outside_the_roots_answers_exactly_as_missing_inside_them(admin_user, tmp_path, settings):
    # given a root, an existing folder outside it, a missing path inside it, and a link inside pointing out
    root = tmp_path / "allowed"
    root.mkdir()
    settings.IMPORT_SERVER_ROOTS, settings.IMPORT_SERVER_ROOTS_REQUIRED = [str(root)], True
    outside = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    (root / "link").symlink_to(outside)
    sources = {"outside": outside, "missing": root / "nope", "link": root / "link", "etc": Path("/etc")}
    # when an admin names each
    answers = {label: post_source(admin_user, str(path)) for label, path in sources.items()}
    # then every answer is the same 400, the path named being the only difference
    bodies = {label: (r.status_code, r.json()["error"]) for label, r in answers.items()}
    expected = {
        label: (400, {"code": "source_not_found", "details": None,
                      "message": f"No such file or folder in the folders allowed for imports: {path}"})
        for label, path in sources.items()
    }  # fmt: skip
    assert bodies == expected
    assert Job.objects.count() == 0


def test_inside_the_roots_an_admin_imports(admin_user, tmp_path, settings):
    # given a folder inside the root
    root = tmp_path / "allowed"
    root.mkdir()
    settings.IMPORT_SERVER_ROOTS, settings.IMPORT_SERVER_ROOTS_REQUIRED = [str(root)], True
    folder = write_files(source_folder(root), {"cat/a.jpg": jpeg(1)})
    # when an admin names it
    response = post_source(admin_user, str(folder))
    # then the job is queued
    assert response.status_code == 202
    assert Job.objects.get().params["source"] == str(folder)


def test_the_command_line_is_not_limited_by_the_roots(tmp_path, settings):
    # given roots required and none set
    settings.IMPORT_SERVER_ROOTS, settings.IMPORT_SERVER_ROOTS_REQUIRED = [], True
    folder = write_files(source_folder(tmp_path), {"cat/a.jpg": jpeg(1)})
    # when the command line (no user) validates a server path
    params = import_params_validate(source=str(folder), name="cli", user=None)
    # then it is accepted
    assert params.source == str(folder)
