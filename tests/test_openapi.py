"""The OpenAPI document and the Swagger UI: complete, valid, and served without a CDN."""

import json
import re

import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS

from tests.url_inventory import project_routes

UNDOCUMENTED = {"schema", "swagger-ui"}  # the schema and its viewer do not describe themselves
SWAGGER_BUNDLE = "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"


def api_routes() -> list:
    return [r for r in project_routes() if r.route.startswith("api/") and r.name not in UNDOCUMENTED]


def test_schema_is_an_openapi_3_document_that_documents_every_api_path(client, db):
    response = client.get("/api/schema/")

    document = yaml.safe_load(response.content)
    assert response.status_code == 200
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Winnow API"
    missing = sorted(r.openapi_path for r in api_routes() if r.openapi_path not in document["paths"])
    assert missing == [], f"API paths missing from the schema: {missing}"


def test_every_operation_has_an_id_a_tag_and_a_described_success_response(client, db):
    document = json.loads(client.get("/api/schema/", {"format": "json"}).content)

    incomplete = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if not operation.get("operationId")
        or not operation.get("tags")
        or not any(code.startswith("2") and "content" in body for code, body in operation["responses"].items())
    ]
    assert incomplete == []


def test_read_endpoints_document_their_parameters_and_error_bodies(client, db):
    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]

    sample_list = paths["/api/versions/{version_id}/samples/"]["get"]
    assert sorted(p["name"] for p in sample_list["parameters"]) == [
        "cluster",
        "cluster_run",
        "cursor",
        "duplicate_group",
        "duplicate_run",
        "label",
        "model_error",
        "page_size",
        "predicted",
        "prediction_run",
        "review_queue",
        "review_state",
        "slice",
        "slice_report",
        "sort",
        "sort_run",
        "source",
        "split",
        "tag",
        "version_id",
    ]
    assert sorted(sample_list["responses"]) == ["200", "400", "401", "403", "404"]
    error_schema = sample_list["responses"]["404"]["content"]["application/json"]["schema"]
    assert error_schema == {"$ref": "#/components/schemas/ErrorOutput"}


def test_spectacular_validates_the_schema_without_warnings(tmp_path):
    GENERATOR_STATS.reset()

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert yaml.safe_load((tmp_path / "schema.yaml").read_text())["paths"]


def test_swagger_ui_is_served_from_local_static_files(client, db):
    page = client.get("/api/docs/")
    html = page.content.decode()
    bundle = client.get(SWAGGER_BUNDLE)

    assert page.status_code == 200
    assert f'<script src="{SWAGGER_BUNDLE}">' in html
    assert re.findall(r'(?:src|href)="(https?:)?//', html) == []
    assert bundle.status_code == 200
    assert b"SwaggerUIBundle" in b"".join(bundle.streaming_content)
