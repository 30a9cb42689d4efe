"""The OpenAPI schema and Swagger UI: public in development, behind login where API_DOCS_PUBLIC is off
(the production default)."""

import pytest
import yaml
from django.test import Client

from tests.factories import UserFactory


@pytest.fixture
def docs_private(settings):
    settings.API_DOCS_PUBLIC = False


def test_anonymous_schema_request_is_a_structured_401_when_docs_are_private(docs_private, db):
    response = Client().get("/api/schema/")

    assert response.status_code == 401
    assert yaml.safe_load(response.content)["error"]["code"] == "not_authenticated"  # in the schema's own format


def test_anonymous_swagger_ui_visit_goes_to_the_login_page_when_docs_are_private(docs_private, db):
    response = Client().get("/api/docs/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"


def test_signed_in_users_read_private_docs(docs_private, db):
    client = Client()
    client.force_login(UserFactory())

    schema, page = client.get("/api/schema/"), client.get("/api/docs/")

    assert (schema.status_code, page.status_code) == (200, 200)
    assert b"Winnow API" in schema.content


def test_docs_are_public_when_the_setting_says_so(settings, db):
    settings.API_DOCS_PUBLIC = True  # the schema itself is fetched anonymously by tests/test_openapi.py

    page = Client().get("/api/docs/")

    assert page.status_code == 200
