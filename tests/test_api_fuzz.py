"""Property-based fuzzing of the whole API from its own OpenAPI schema (schemathesis).

Every operation gets generated requests, authenticated with a token that holds every scope
for the course; no answer may be a server error or contradict the schema."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.models import ApiToken
from grader.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


@pytest.fixture
def auth_header(db, people, assignment):
    # Like Django's test client: keep the test's connection (and transaction) open across requests.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    _, text = ApiToken.issue(
        "fuzz", ["read", "submit", "grades", "manage"], [assignment.course], people["instructor"]
    )
    yield {"Authorization": f"Bearer {text}"}
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@pytest.mark.django_db
def test_the_api_holds_up_to_generated_requests(case, auth_header, monkeypatch):
    from api.auth import TokenRateThrottle

    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "100000/min"})
    case.call_and_validate(headers=auth_header, checks=[not_a_server_error, response_schema_conformance])
