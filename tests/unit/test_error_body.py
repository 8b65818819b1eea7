"""Error bodies of every shape map to the right class with a readable message."""

from __future__ import annotations

import orjson
import pytest

from openrouter_async import _errors as e
from openrouter_async._error_body import error_from_payload, status_error_from_body

STATUS_CLASSES = [
    (400, e.BadRequestError),
    (401, e.AuthenticationError),
    (402, e.PaymentRequiredError),
    (403, e.PermissionDeniedError),
    (404, e.NotFoundError),
    (408, e.RequestTimeoutError),
    (409, e.ConflictError),
    (412, e.APIStatusError),
    (413, e.PayloadTooLargeError),
    (422, e.UnprocessableEntityError),
    (429, e.RateLimitError),
    (500, e.InternalServerError),
    (501, e.InternalServerError),
    (502, e.BadGatewayError),
    (503, e.ServiceUnavailableError),
    (504, e.GatewayTimeoutError),
    (524, e.EdgeTimeoutError),
    (529, e.ProviderOverloadedError),
]


@pytest.mark.parametrize(("status", "cls"), STATUS_CLASSES)
def test_every_status_maps_to_its_class(status: int, cls: type[e.APIStatusError]) -> None:
    body = orjson.dumps({"error": {"code": status, "message": "msg", "metadata": None}})
    err = status_error_from_body(status, body, {"X-Generation-Id": "gen-1"})
    assert type(err) is cls
    assert err.status_code == status and err.code == status
    assert err.message == "msg"
    assert err.generation_id == "gen-1"
    assert isinstance(err, e.APIStatusError) and isinstance(err, e.OpenRouterError)


def test_html_error_page_gives_status_class_and_readable_message() -> None:
    page = (
        b"<html><head><title>524: A timeout occurred</title></head><body><h1>x</h1></body></html>"
    )
    err = status_error_from_body(524, page, {}, content_type="text/html")
    assert type(err) is e.EdgeTimeoutError
    assert "524: A timeout occurred" in err.message
    assert "<" not in err.message


def test_empty_body() -> None:
    err = status_error_from_body(502, b"", {})
    assert type(err) is e.BadGatewayError
    assert "empty body" in err.message


def test_provider_raw_json_string_is_parsed_and_surfaced() -> None:
    raw = orjson.dumps({"error": {"message": "model overloaded, try later", "type": "overloaded"}})
    payload = {
        "error": {
            "code": 502,
            "message": "Provider returned error",
            "metadata": {"provider_name": "OpenAI", "raw": raw.decode()},
        },
        "user_id": "user_1",
    }
    err = error_from_payload(502, payload)
    assert err.metadata["raw"] == orjson.loads(raw)
    assert "[OpenAI] model overloaded, try later" in err.message
    assert err.provider_name == "OpenAI"
    assert err.user_id == "user_1"


def test_retry_after_header_and_availability() -> None:
    body = orjson.dumps({"error": {"code": 429, "message": "rate"}})
    err = status_error_from_body(429, body, {"Retry-After": "12"})
    assert err.retry_after == 12.0
    availability = {
        "code": "temporarily_unavailable",
        "retryable": True,
        "retry_after": 3,
        "requested_models": ["a/b"],
        "docs_url": "x",
    }
    body = orjson.dumps(
        {
            "error": {
                "message": "no",
                "error_type": "provider_overloaded",
                "availability": availability,
            }
        }
    )
    err = status_error_from_body(503, body, {})
    assert err.retry_after == 3.0
    assert err.availability == availability
    assert err.error_type == "provider_overloaded"
    assert err.retryable


def test_string_code_kept() -> None:
    err = error_from_payload(500, {"error": {"code": "server_error", "message": "oops"}})
    assert err.code == "server_error" and type(err) is e.InternalServerError


def test_200_envelope_uses_code_for_class() -> None:
    err = error_from_payload(200, {"error": {"code": 402, "message": "credits"}})
    assert type(err) is e.PaymentRequiredError and err.status_code == 200 and err.code == 402


@pytest.mark.parametrize("metadata", ["upstream said no", 42, 1.5, True, ["a", 1], []])
def test_metadata_that_is_not_an_object_is_kept_under_raw(metadata: object) -> None:
    # Regression (#12): a string, number or list here raised a raw ValueError/TypeError, so a
    # 503 with such a body was not even retried.
    body = orjson.dumps({"error": {"code": 503, "message": "busy", "metadata": metadata}})
    err = status_error_from_body(503, body, {})
    assert type(err) is e.ServiceUnavailableError
    assert err.retryable
    assert err.metadata == {"raw": metadata}
    assert err.message.startswith("busy")
    if isinstance(metadata, str):
        assert err.message == "busy: upstream said no"


def test_retry_after_in_availability_may_be_any_number() -> None:
    huge = orjson.loads(b"1" + b"0" * 30)  # orjson reads out-of-range integers as floats
    for value in (huge, 10**30, -1, "soon", None, float("nan")):
        payload = {"error": {"code": 503, "message": "x", "availability": {"retry_after": value}}}
        err = error_from_payload(503, payload)
        assert err.retry_after is None or err.retry_after >= 0


@pytest.mark.parametrize(
    "error",
    [
        {"code": 200, "message": "x"},
        {"code": 429, "metadata": {"http_status": True}},
        {"code": 429, "metadata": {"http_status": 10**20}},
        {"metadata": {"availability": [1, 2]}},
        {"message": ["not", "a", "string"], "code": [1]},
        {"metadata": {"raw": '[1, {"message": "m"}'}},
    ],
)
def test_odd_envelopes_still_give_a_status_error(error: dict[str, object]) -> None:
    err = error_from_payload(200, {"error": error, "user_id": 7})
    assert isinstance(err, e.APIStatusError)
    assert isinstance(err.message, str) and err.message
    assert err.user_id is None
