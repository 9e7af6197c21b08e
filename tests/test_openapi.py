"""The OpenAPI document: generated from the schemas, committed, served, valid, and exactly the app's
routes."""
from __future__ import annotations

import json

import webtest
from openapi_spec_validator import validate

from web import openapi
from web.factory import served_routes


def test_the_committed_document_is_the_generated_one():
    """Run `make openapi` after changing a route or a schema."""
    assert openapi.PATH.read_text() == openapi.text()


def test_the_document_is_valid_openapi_3_1():
    document = json.loads(openapi.PATH.read_text())
    assert document["openapi"] == "3.1.0"
    validate(document)


def test_the_documented_routes_are_the_apps(make_app):
    _, app = make_app()
    assert openapi.routes() == served_routes(app)


def test_every_operation_documents_its_errors_and_security():
    document = json.loads(openapi.PATH.read_text())
    schemes = set(document["components"]["securitySchemes"])
    assert schemes == {"ApiKey", "InternalKey", "Bearer"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = set(operation["responses"])
            assert {"400", "500", "503"} <= statuses, (method, path)
            for status, response in operation["responses"].items():
                assert "application/json" in response["content"], (method, path, status)
                if status >= "400":
                    assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
            if "requestBody" in operation:
                assert {"413", "422"} <= statuses, (method, path)
            for requirement in operation["security"]:
                assert set(requirement) <= schemes


def test_the_document_is_served(make_app):
    _, app = make_app()
    resp = webtest.TestApp(app).get("/openapi.json")
    assert resp.content_type == "application/json"
    assert resp.json == json.loads(openapi.PATH.read_text())
