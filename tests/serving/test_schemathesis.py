"""Property-based run of the app's own OpenAPI schema, with schemathesis' real checks: whatever
the input, no server error; every status and content type the app answers with is one its
schema documents; every documented response body matches its schema; and a request the
schema says is invalid is refused."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from serving.app import app

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_app_answers_as_its_schema_documents(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(
        response,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            negative_data_rejection,
        ],
    )
