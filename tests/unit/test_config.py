"""Client settings: environment, headers, validation, and secrets never shown."""

from __future__ import annotations

import pytest

from openrouter_async._config import (
    DEFAULT_BASE_URL,
    ClientConfig,
    PoolLimits,
    RetryPolicy,
    Timeouts,
)
from openrouter_async._errors import MissingAPIKeyError, RequestValidationError

KEY = "sk-or-v1-secretsecretsecret"


def build(**kw: object) -> ClientConfig:
    args: dict[str, object] = {
        "api_key": None,
        "base_url": None,
        "app_url": None,
        "app_title": None,
        "app_categories": None,
        "default_headers": None,
        "timeout": None,
        "retry": RetryPolicy(),
        "limits": PoolLimits(),
        "environ": {},
    }
    args.update(kw)
    return ClientConfig.build(**args)  # type: ignore[arg-type]


def test_defaults_and_environment() -> None:
    cfg = build()
    assert cfg.base_url == DEFAULT_BASE_URL
    cfg = build(
        environ={"OPENROUTER_API_KEY": KEY, "OPENROUTER_BASE_URL": "http://127.0.0.1:1/api/v1/"}
    )
    assert cfg.base_url == "http://127.0.0.1:1/api/v1"
    assert cfg.auth_header() == f"Bearer {KEY}"
    assert cfg.origin == "http://127.0.0.1:1"


def test_argument_beats_environment() -> None:
    cfg = build(api_key="arg", environ={"OPENROUTER_API_KEY": KEY})
    assert cfg.auth_header() == "Bearer arg"


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingAPIKeyError, match="OPENROUTER_API_KEY"):
        build().auth_header()


def test_attribution_headers() -> None:
    cfg = build(app_url="https://example.app", app_title="My App", app_categories=["a", "b"])
    assert cfg.headers["HTTP-Referer"] == "https://example.app"
    assert cfg.headers["X-OpenRouter-Title"] == "My App"
    assert cfg.headers["X-Title"] == "My App"
    assert cfg.headers["X-OpenRouter-Categories"] == "a,b"
    assert cfg.headers["User-Agent"].startswith("openrouter-async/")


@pytest.mark.parametrize(
    "kw",
    [
        {"app_title": "x\r\nInjected: 1"},
        {"app_url": "http://x\n"},
        {"default_headers": {"X-A": "b\rc"}},
        {"default_headers": {"Bad Name": "v"}},
        {"default_headers": {"Authorization": "Bearer x"}},
        {"api_key": "abc\ndef"},
        {"api_key": "   "},
        {"base_url": "ftp://x"},
        {"base_url": "not a url"},
        {"timeout": -1},
        {"timeout": float("nan")},
    ],
)
def test_bad_settings_rejected(kw: dict[str, object]) -> None:
    with pytest.raises(RequestValidationError):
        build(**kw)


def test_bad_policies_rejected() -> None:
    with pytest.raises(RequestValidationError, match="max_retries"):
        RetryPolicy(max_retries=-1)
    with pytest.raises(RequestValidationError):
        PoolLimits(total=-5)
    with pytest.raises(RequestValidationError, match=r"timeout\.idle"):
        Timeouts(idle=0)


def test_key_never_in_repr() -> None:
    cfg = build(api_key=KEY)
    assert KEY not in repr(cfg)
    assert KEY not in str(cfg)
    assert KEY not in repr(cfg.api_key)


def test_number_timeout_sets_every_phase() -> None:
    t = Timeouts.coerce(5)
    assert (t.connect, t.read, t.first_event, t.idle, t.total) == (5, 5, 5, 5, None)
