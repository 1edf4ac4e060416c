"""The /api OpenAPI document is complete and the app keeps to it and to /ogc/api: Schemathesis finds no 500s."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.sample_city import build_sample_city

# Bounded so that the suite stays short: a few examples per operation still reach every branch of
# parameter parsing, and the bad-input suite covers the hostile cases by hand.
EXAMPLES = 6
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


# No 500s, and answers as documented (status, media type, headers, body schema). Whether every
# schema-valid input is accepted, or every schema-breaking one refused, is left out: the document
# gives shapes, not business rules (known category codes, minx < maxx, an empty value meaning none);
# tests/test_bad_input.py checks the refusals by hand.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_every_api_route_is_in_the_document(client):
    document = client.get("/api/openapi.json").get_json()
    described = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    routes = {(_openapi_path(rule.rule), method) for rule in client.application.url_map.iter_rules()
              if rule.rule.startswith("/api/") for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - described == set(), "routes missing from the features' openapi.py modules"
    assert described - routes == set(), "an openapi.py module describes routes that do not exist"


@pytest.fixture
def city_app(app, tmp_path, auth_headers):
    session = app.extensions["gisserver.db"].session()
    build_sample_city(session, tmp_path)
    session.close()
    app.config["GISSERVER_TEST_HEADERS"] = auth_headers("admin")
    return app


def _run_schema(schema, app, headers: dict) -> list[str]:
    """Every operation with valid and with schema-breaking inputs; the failures of all of them."""
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case):
                case.call_and_validate(app=app, headers=headers, checks=CHECKS)

            try:
                check()
            except Unsatisfiable:
                continue  # no input breaks this operation's schema (no parameters, or any text is valid)
            except (Exception, BaseExceptionGroup) as exc:  # Schemathesis raises a group; collected together
                failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")
    return failures


def test_api_keeps_to_its_document(city_app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", city_app)
    failures = _run_schema(schema, city_app, city_app.config["GISSERVER_TEST_HEADERS"])
    assert not failures, "\n\n".join(failures)


def test_ogc_api_keeps_to_its_document(city_app):
    schema = schemathesis.openapi.from_wsgi("/ogc/api", city_app)
    failures = _run_schema(schema, city_app, {})
    assert not failures, "\n\n".join(failures)
