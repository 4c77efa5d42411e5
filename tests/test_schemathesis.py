"""Schemathesis over the OpenAPI schema, against the WSGI app in-process: no server errors, and
every response conforms to what the schema documents. Bounded (few examples per operation, a
fixed seed) so it runs in every `make test`, in both modes."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
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
from schemathesis.specs.openapi.schemas import OpenApiSchema

from shop.models import Category, Product
from shop.wsgi import application

pytestmark = pytest.mark.django_db

#: What the API promises: never a 5xx, and only documented statuses, media types, headers and
#: bodies. Not positive_data_acceptance: a schema-valid batch may still name an unknown item or
#: break a rule between fields (a rating without stars), which the beacon refuses with a 400.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
#: Examples per operation: enough to find the classes of bad input, few enough for < 60 s.
EXAMPLES = 100


@pytest.fixture
def _keep_connections() -> Iterator[None]:
    """The WSGI app closes the database connection after each request, and with it the test's
    transaction; Django's test client disconnects the same handler for the same reason."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(db: None, _keep_connections: None) -> OpenApiSchema:
    category = Category.objects.create(name="Kitchen", slug="kitchen")
    for i in range(3):
        Product.objects.create(
            sku=f"SKU{i}",
            title=f"Teapot {i}",
            slug=f"teapot-{i}",
            category=category,
            price=Decimal("9.50"),
            stock=10,
        )
    return schemathesis.openapi.from_wsgi("/api/schema/", application)


def test_api_conforms_to_its_schema(api_schema: OpenApiSchema) -> None:
    """Every operation with schema-valid and schema-invalid data, each a bounded Hypothesis run;
    failures are gathered so one report names them all. (schemathesis's pytest plugin does not
    run under pytest 9: it reads a node attribute pytest no longer has.)"""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert operations
    runs = [(op, mode) for op in operations for mode in GenerationMode]
    for operation, mode in runs:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            run()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (no parameters, no body)
        except Exception as exc:
            failures.append(f"{operation.label} ({mode.value} data): {exc}")
    assert not failures, "\n\n".join(failures)
