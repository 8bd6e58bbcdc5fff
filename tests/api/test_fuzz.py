"""schemathesis against the app's own OpenAPI, as every role and anonymously: no 5xx, and every response
(status, content type, body) conforms to the schema. Bounded examples keep it within the test budget."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hotspots.access.accounts import Role
from hotspots.geo.areas import Areas
from tests.api.conftest import Api, api_settings, make_api

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
#: Examples per operation: the admin reaches every handler; other roles mostly exercise the access rules.
EXAMPLES = {"admin": 12, "anonymous": 3} | {r.value: 4 for r in Role if r is not Role.ADMIN}


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory, areas: Areas) -> Iterator[Api]:
    path = tmp_path_factory.mktemp("fuzz") / "store.db"
    result = make_api(api_settings(f"sqlite:///{path}"), areas)
    yield result
    result.engine.dispose()


@pytest.mark.parametrize("role", list(EXAMPLES))
def test_api_conforms_to_its_openapi(fuzz_api: Api, role: str) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzz_api.client.app)
    headers = {} if role == "anonymous" else fuzz_api.auth(role)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 20

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES[role],
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        check()
