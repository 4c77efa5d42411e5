"""The beacon's documented OpenAPI entry matches what it really sends and accepts.

Responses of real requests are validated against the schemas in the generated spec, so changing
the view without its schema (or the other way round) fails here rather than in a client.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from jsonschema import Draft202012Validator

from recommendations.tracking.sinks import Outcome

from .conftest import EVENTS_URL, event, post_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operation(spec: dict[str, Any]) -> dict[str, Any]:
    return spec["paths"][EVENTS_URL]["post"]


def validator(spec: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A JSON Schema validator for one OpenAPI 3.0 schema, its ``$ref``s resolved in the spec."""
    root = json_schema({**schema, "components": spec["components"]})
    return Draft202012Validator(root)


def json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema's ``type: [..., "null"]``."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") and "type" in node:
        out["type"] = [node["type"], "null"]
    return out


def assert_documented(spec: dict[str, Any], response: Any) -> None:
    documented = operation(spec)["responses"]
    code = str(response.status_code)
    assert code in documented, f"{code} is not documented"
    schema = documented[code]["content"]["application/json"]["schema"]
    errors = list(validator(spec, schema).iter_errors(response.json()))
    assert not errors, [error.message for error in errors]


def test_every_real_status_is_documented(spec):
    assert set(operation(spec)["responses"]) == {"202", "400", "403", "413", "415", "429", "503"}
    assert set(operation(spec)["requestBody"]["content"]) == {"application/json", "text/plain"}


def test_good_batch_matches_request_and_202_schemas(client, products, spec):
    batch = {
        "events": [
            event("click", str(products[0].pk), context={"slot": "for-you", "position": 2}),
            event("rating", str(products[1].pk), value=4, ts=timezone.now().isoformat()),
            event("search", context={"query": "teapot"}),
        ]
    }
    request_schema = operation(spec)["requestBody"]["content"]["application/json"]["schema"]
    assert not list(validator(spec, request_schema).iter_errors(batch))
    response = post_events(client, batch)
    assert response.status_code == 202, response.content
    assert_documented(spec, response)


def test_declined_batch_matches_202_schema(client, products, spec):
    response = post_events(client, [event("view", str(products[0].pk))], HTTP_SEC_GPC="1")
    assert response.json()["tracking"] == "declined"
    assert_documented(spec, response)


def test_bad_batch_matches_400_schema(client, products, spec):
    response = post_events(
        client,
        [event("view", str(products[0].pk)), event("teleport", "nope"), event("rating", "1")],
    )
    assert response.status_code == 400
    assert {error["index"] for error in response.json()["errors"]} == {1, 2}
    assert_documented(spec, response)


def test_body_level_error_matches_400_schema(client, spec):
    response = client.post(EVENTS_URL, "{not json", content_type="text/plain")
    assert response.status_code == 400
    assert "index" not in response.json()["errors"][0]
    assert_documented(spec, response)


def test_too_large_and_wrong_media_type_match_their_schemas(client, spec, settings):
    settings.RECOMMENDATIONS = {**settings.RECOMMENDATIONS, "BEACON_MAX_BYTES": 100}
    too_large = post_events(client, [event("view", "x" * 200)])
    assert too_large.status_code == 413
    assert_documented(spec, too_large)
    wrong_type = Client().post(EVENTS_URL, b"events", content_type="application/xml")
    assert wrong_type.status_code == 415
    assert_documented(spec, wrong_type)


def test_unstored_batch_matches_503_schema(client, products, spec, monkeypatch):
    monkeypatch.setattr("recommendations.api.views.deliver", lambda records: Outcome.DROPPED)
    response = post_events(client, [event("view", str(products[0].pk))])
    assert response.status_code == 503
    assert response["Retry-After"]
    assert "Retry-After" in operation(spec)["responses"]["503"]["headers"]
    assert_documented(spec, response)
