"""Schemathesis over the OpenAPI schema: generated requests never get a 5xx or a response the schema denies.

Every GET operation, and the POSTs that only create rows here (an export request, a token), is called
through the WSGI app with an admin's token, a few generated examples each (derandomized, no shrinking,
so the run is reproducible and bounded). Half the generated path ids are swapped for ids of real rows,
so the requests reach past the 404s. Each failing operation is reported with its case as curl; all
failures are collected before the test fails.

The WSGI calls share the test's transaction (like Django's test client), so nothing they write
survives the test and no job is sent to a broker (on_commit never fires inside it).
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from core.roles import Role
from jobs.models import Job
from tests.factories import DatasetVersionFactory, ExportFactory, UserFactory, VersionSampleFactory

MAX_EXAMPLES = 4
SAFE_POSTS = {"version_export_create", "auth_token_create"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_requests_in_test_transaction() -> Iterator[None]:
    """As Django's test client does: keep the request signals from closing the test's connection."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def real_ids(db, settings) -> dict[str, int]:
    """Ids of one row per kind that paths point at; the export belongs to the admin who calls."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"exports": "10000/hour", "imports": "10000/hour"},
    }
    cache.clear()
    admin = UserFactory(username="schemathesis-admin", role=Role.ADMIN)
    version = DatasetVersionFactory(number=1, sample_count=1)
    member = VersionSampleFactory(version=version)
    export = ExportFactory(version=version, created_by=admin)
    job = Job.objects.create(kind="import_dataset", params={})
    return {
        "token": Token.objects.create(user=admin).key,  # type: ignore[dict-item]
        "dataset_id": version.dataset_id,
        "version_id": version.pk,
        "sample_id": member.sample_id,
        "job_id": job.pk,
        "export_id": export.pk,
    }


def operations_under_test(schema: Any) -> list[Any]:
    chosen = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.method.upper() == "GET" or operation.definition.raw.get("operationId") in SAFE_POSTS:
            chosen.append(operation)
    return chosen


def call_operation(operation: Any, ids: dict[str, Any]) -> list[str]:
    """Run generated cases of one operation; returns the failures (empty when every case passed)."""
    failures: list[str] = []
    headers = {"Authorization": f"Token {ids['token']}"}

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case: Any) -> None:
        if failures:  # one failure per operation is enough to report
            return
        for name, value in (case.path_parameters or {}).items():
            if name in ids and isinstance(value, int) and value % 2 == 0:
                case.path_parameters[name] = ids[name]
        if operation.path.endswith("/download/{file_name}") and len(failures) % 2 == 0:
            case.path_parameters["file_name"] = "manifest.jsonl"
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group of its failures
            failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc)[:1500]}\n{case.as_curl_command()}")

    run()
    return failures


def test_generated_requests_get_no_server_error_and_answers_that_match_the_schema(
    real_ids, wsgi_requests_in_test_transaction
):
    # given the schema served by the app, and an admin's token
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    operations = operations_under_test(schema)
    # when a few generated requests are sent to every GET operation and the safe POSTs
    failures = [failure for operation in operations for failure in call_operation(operation, real_ids)]
    # then none got a 5xx, an undocumented status, or a body or content type the schema denies
    assert len(operations) >= 10
    assert failures == [], "\n\n".join(failures)
