"""The export API: request (202 + job), list, detail, ranged downloads, and the per-token rate limit."""

import base64
import hashlib
import re
import subprocess

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.roles import Role
from curation.exports.models import Export
from jobs.models import JobStatus
from jobs.services import job_execute
from tests.curation.exports.builders import pets_version
from tests.factories import ExportFactory, JobFactory, UserFactory

pytestmark = pytest.mark.django_db
CONTENT = bytes(range(256)) * 4  # 1024 bytes, each offset recognisable


@pytest.fixture
def api(curator) -> APIClient:
    client = APIClient()
    client.force_authenticate(curator)
    return client


@pytest.fixture
def stored_export(curator) -> Export:
    return ExportFactory(created_by=curator, stored_files=CONTENT)


def download(api: APIClient, export: Export, **headers: str):
    response = api.get(f"/api/exports/{export.pk}/download/manifest.jsonl", headers=headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_post_answers_202_with_the_export_and_its_queued_job(api, curator, django_capture_on_commit_callbacks):
    # given a complete version
    version = pets_version(created_by=curator)
    # when a WebDataset export is requested
    with django_capture_on_commit_callbacks() as sent:
        response = api.post(f"/api/versions/{version.pk}/exports/", {"format": "webdataset", "shard_size": 3})
    # then 202 with the export and where to follow its job, which is sent to the workers on commit
    export = Export.objects.get()
    body = response.json()
    assert response.status_code == 202
    assert (body["job"], body["url"]) == (export.job_id, f"/api/jobs/{export.job_id}/")
    assert {k: body["export"][k] for k in ("id", "version", "dataset", "format", "options", "status", "files")} == {
        "id": export.pk,
        "version": version.pk,
        "dataset": version.dataset_id,
        "format": "webdataset",
        "options": {"shard_size": 3},
        "status": "queued",
        "files": [],
    }
    assert (export.job.kind, export.job.params, export.job.requested_by, len(sent)) == (
        "export_version", {"export": export.pk}, curator, 1,
    )  # fmt: skip


def test_detail_lists_the_files_with_sizes_checksums_and_download_urls_once_the_job_ran(api, curator):
    # given an export whose job has run
    version = pets_version(created_by=curator)
    export_id = api.post(f"/api/versions/{version.pk}/exports/", {"format": "csv"}).json()["export"]["id"]
    job = job_execute(Export.objects.get(pk=export_id).job_id)
    # when its detail is read
    body = api.get(f"/api/exports/{export_id}/").json()
    # then it is succeeded, with the manifest's size and sha256 and the checksum manifest's URL
    export = Export.objects.get(pk=export_id)
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert (body["status"], body["progress"], body["sample_count"]) == ("succeeded", 1.0, 8)
    assert body["files"] == [
        {
            "name": "manifest.csv",
            "size": export.files[0]["size"],
            "sha256": export.files[0]["sha256"],
            "url": f"/api/exports/{export_id}/download/manifest.csv",
        }
    ]
    assert body["checksum_url"] == f"/api/exports/{export_id}/download/SHA256SUMS"
    checksums = api.get(body["checksum_url"])
    served_as = f"{export.version.dataset.name}-v{export.version.number}-"
    assert checksums.content.decode() == f"{export.files[0]['sha256']}  {served_as}manifest.csv\n"
    assert checksums["Content-Disposition"] == f'attachment; filename="{served_as}SHA256SUMS"'


def test_files_saved_under_their_served_names_pass_sha256sum_check(api, curator, tmp_path):
    # given a finished export with two files (CSV manifest and SHA256SUMS)
    version = pets_version(created_by=curator)
    export_id = api.post(f"/api/versions/{version.pk}/exports/", {"format": "csv"}).json()["export"]["id"]
    job_execute(Export.objects.get(pk=export_id).job_id)
    body = api.get(f"/api/exports/{export_id}/").json()
    # when every file is saved as a browser does, under its Content-Disposition name
    saved = []
    for url in [item["url"] for item in body["files"]] + [body["checksum_url"]]:
        response = api.get(url)
        name = re.fullmatch(r'attachment; filename="(.+)"', response["Content-Disposition"]).group(1)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        (tmp_path / name).write_bytes(content)
        saved.append(name)
    # then `sha256sum -c` on the saved checksum file passes for every file
    check = subprocess.run(["sha256sum", "-c", saved[-1]], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == f"{saved[0]}: OK\n"


def test_list_shows_a_curator_their_own_exports_and_an_admin_everyones(api, curator, admin_user):
    # given exports by the curator (two versions) and by someone else
    mine = ExportFactory(created_by=curator)
    other_version = ExportFactory(created_by=curator, format="csv")
    ExportFactory(created_by=UserFactory())
    admin = APIClient()
    admin.force_authenticate(admin_user)
    # when each lists exports, and the curator filters
    own = api.get("/api/exports/").json()["results"]
    everyone = admin.get("/api/exports/").json()["results"]
    by_version = api.get("/api/exports/", {"version": mine.version_id}).json()["results"]
    by_format = api.get("/api/exports/", {"export_format": "csv"}).json()["results"]
    # then the curator sees only theirs (newest first); the admin sees all three
    assert [e["id"] for e in own] == [other_version.pk, mine.pk]
    assert len(everyone) == 3
    assert [e["id"] for e in by_version] == [mine.pk]
    assert [e["id"] for e in by_format] == [other_version.pk]


def test_list_refuses_an_unknown_format_filter(api):
    response = api.get("/api/exports/", {"export_format": "tfrecord"})

    assert (response.status_code, response.json()["error"]["code"]) == (400, "validation_error")


def test_a_download_without_range_streams_the_whole_file_with_its_headers(api, stored_export):
    response, body = download(api, stored_export)

    assert (response.status_code, body) == (200, CONTENT)
    assert response.streaming
    assert response["Content-Length"] == "1024"
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "application/jsonl"
    assert response["ETag"] == f'"{hashlib.sha256(CONTENT).hexdigest()}"'
    dataset = stored_export.version.dataset.name
    assert (
        response["Content-Disposition"]
        == f'attachment; filename="{dataset}-v{stored_export.version.number}-manifest.jsonl"'
    )


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [("bytes=0-9", 0, 9), ("bytes=1000-", 1000, 1023), ("bytes=-24", 1000, 1023), ("bytes=1020-5000", 1020, 1023)],
)
def test_a_byte_range_answers_206_with_that_part_only(api, stored_export, header, start, end):
    response, body = download(api, stored_export, Range=header)

    assert (response.status_code, body) == (206, CONTENT[start : end + 1])
    assert response["Content-Range"] == f"bytes {start}-{end}/1024"
    assert response["Content-Length"] == str(end - start + 1)


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=2000-3000", "bytes=9-2", "bytes=x-y", "bytes=-0", "bytes=-"])
def test_an_unsatisfiable_or_malformed_range_answers_416_with_the_size(api, stored_export, header):
    response, _ = download(api, stored_export, Range=header)

    assert response.status_code == 416
    assert response.json()["error"]["code"] == "range_not_satisfiable"
    assert response["Content-Range"] == "bytes */1024"


@pytest.mark.parametrize(
    "headers", [{"Range": "bytes=0-1,5-9"}, {"Range": "items=0-1"}, {"Range": "bytes=0-9", "If-Range": '"stale"'}]
)
def test_several_ranges_another_unit_or_a_stale_if_range_get_the_whole_file(api, stored_export, headers):
    response, body = download(api, stored_export, **headers)

    assert (response.status_code, body) == (200, CONTENT)


def test_if_range_with_the_current_etag_keeps_the_range(api, stored_export):
    etag = f'"{hashlib.sha256(CONTENT).hexdigest()}"'

    response, body = download(api, stored_export, Range="bytes=4-7", **{"If-Range": etag})

    assert (response.status_code, body) == (206, CONTENT[4:8])


def test_a_download_of_an_unfinished_or_unknown_file_is_refused(api, curator, stored_export):
    running = ExportFactory(created_by=curator, job=JobFactory(kind="export_version", status=JobStatus.RUNNING))

    not_ready = api.get(f"/api/exports/{running.pk}/download/manifest.jsonl")
    unknown = api.get(f"/api/exports/{stored_export.pk}/download/other.zip")
    missing = api.get("/api/exports/999999/download/manifest.jsonl")

    assert (not_ready.status_code, not_ready.json()["error"]["code"]) == (409, "export_not_ready")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "file_not_found")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")


def test_a_purged_export_answers_410_files_gone(api, stored_export):
    from django.core.files.storage import default_storage

    default_storage.delete(stored_export.files[0]["key"])

    response = api.get(f"/api/exports/{stored_export.pk}/download/manifest.jsonl")

    assert (response.status_code, response.json()["error"]["code"]) == (410, "export_files_gone")


@pytest.mark.parametrize(
    ("scope", "path", "payload"), [("exports", "exports", {"format": "tfrecord"}), ("imports", "imports", {})]
)
def test_the_request_past_the_rate_in_the_window_gets_429_per_token(settings, curator, scope, path, payload):
    # given a rate of 2 requests a minute for the scope, and two curators with tokens
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"exports": "100/minute", "imports": "100/minute", scope: "2/minute"},
    }
    cache.clear()
    version = pets_version(created_by=curator)
    url = f"/api/versions/{version.pk}/exports/" if path == "exports" else "/api/datasets/imports/"
    first, second = APIClient(), APIClient()
    first.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=curator).key}")
    second.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=UserFactory(role=Role.CURATOR)).key}")
    # when the first token sends three requests (refused ones count too) and the second one
    statuses = [first.post(url, payload, format="json").status_code for _ in range(3)]
    other = second.post(url, payload, format="json")
    # then the third gets 429 with a structured body and Retry-After; the other token is not limited
    third = first.post(url, payload, format="json")
    assert statuses == [400, 400, 429]
    assert third.status_code == 429
    assert third.json()["error"]["code"] == "throttled"
    assert third.json()["error"]["message"].startswith("Request was throttled.")
    assert 0 < int(third["Retry-After"]) <= 60
    assert other.status_code == 400


def test_a_readable_cursor_whose_position_is_not_an_id_is_a_404_not_a_server_error(api):
    # given a cursor that decodes (base64 of "p=abc") but holds no id: found by the schemathesis run's kind of input
    cursor = base64.b64encode(b"p=abc").decode()
    # when the exports list is asked for that page
    response = api.get("/api/exports/", {"cursor": cursor})
    # then it is refused like any invalid cursor
    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "Invalid cursor", "details": None}


def test_an_api_url_that_matches_no_route_answers_a_structured_404(api):
    response = api.get("/api/exports/-3/")

    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json()["error"]["code"] == "not_found"
