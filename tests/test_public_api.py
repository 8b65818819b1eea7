"""The package face: ``__all__`` is exactly the public names, sorted, and each resolves."""

from __future__ import annotations

import subprocess
import sys

import openrouter_async as ora

# Names that are public by design; anything added to the face must be added here too.
EXPECTED = {
    "CallInfo",
    "HookEvent",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AnnotationsDelta",
    "AssistantMessage",
    "AudioPart",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "Batch",
    "BatchIndex",
    "BatchProgress",
    "BatchResult",
    "CacheControl",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatMessage",
    "ChatRequest",
    "ChatStream",
    "Choice",
    "ClientClosedError",
    "ClientState",
    "CompletionUsage",
    "ConflictError",
    "Credits",
    "DeveloperMessage",
    "EdgeTimeoutError",
    "EmbeddingsResponse",
    "FilePart",
    "Finish",
    "FunctionCall",
    "FunctionDefinition",
    "FunctionTool",
    "GatewayTimeoutError",
    "Generation",
    "ImagePart",
    "ImagesDelta",
    "IncompleteStreamError",
    "InternalServerError",
    "JSONSchemaSpec",
    "KeepAlive",
    "KeyInfo",
    "MissingAPIKeyError",
    "Model",
    "ModelsPage",
    "NotFoundError",
    "OpenRouter",
    "OpenRouterError",
    "ParsedChatCompletion",
    "PayloadTooLargeError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "PoolLimits",
    "ProtocolError",
    "ProviderOverloadedError",
    "ProviderPreferences",
    "RateLimitError",
    "Reasoning",
    "ReasoningDelta",
    "RefusalDelta",
    "RequestTimeoutError",
    "RequestValidationError",
    "ResponseFormatJSONObject",
    "ResponseFormatJSONSchema",
    "ResponseFormatText",
    "ResponseInfo",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerTool",
    "ServiceUnavailableError",
    "Stream",
    "StreamError",
    "StreamEvent",
    "StructuredOutputError",
    "SystemMessage",
    "TextCompletion",
    "TextDelta",
    "TextPart",
    "Timeouts",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolInvocation",
    "ToolMessage",
    "ToolResultEvent",
    "ToolRunResult",
    "ToolRunStream",
    "UnprocessableEntityError",
    "Usage",
    "UserMessage",
    "VideoPart",
    "__version__",
    "audio_part",
    "file_part",
    "function_tool",
    "image_part",
    "json_schema_for",
    "parse_completion",
    "response_format_for",
    "set_testing",
    "tool_schema",
    "video_part",
}


def test_all_is_sorted_and_matches_the_public_names() -> None:
    assert ora.__all__ == sorted(ora.__all__)
    assert set(ora.__all__) == EXPECTED


def test_every_public_name_resolves() -> None:
    for name in ora.__all__:
        assert getattr(ora, name) is not None, name


def test_no_private_or_stray_public_attributes() -> None:
    public = {n for n in vars(ora) if not n.startswith("_")}
    # Loaded submodules appear as attributes; everything else public must be in __all__.
    modules = {n for n in public if type(getattr(ora, n)).__name__ == "module"}
    assert public - modules - {"TYPE_CHECKING", "Any"} <= set(ora.__all__)


def test_unknown_attribute_raises() -> None:
    try:
        ora.DoesNotExist  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "DoesNotExist" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_errors_hierarchy_root() -> None:
    for name in ora.__all__:
        value = getattr(ora, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, ora.OpenRouterError), name


def test_import_does_not_load_model_classes() -> None:
    code = (
        "import sys, openrouter_async; "
        "print(int('openrouter_async.types.chat_request' in sys.modules), "
        "int('openrouter_async.testing' in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0", "0"]


def test_lazy_names_have_one_list() -> None:
    # ``_LAZY`` is the one list of names loaded on first use; the imports that type checkers
    # read (under TYPE_CHECKING) must name exactly those, from the same modules, and every
    # public name is either imported at once or lazy, never both, never neither.
    import ast
    from pathlib import Path

    tree = ast.parse(Path(ora.__file__).read_text(encoding="utf-8"))
    checking: dict[str, str] = {}
    eager: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                assert isinstance(inner, ast.ImportFrom)
                for alias in inner.names:
                    checking[alias.asname or alias.name] = "." * inner.level + (inner.module or "")
        elif isinstance(node, ast.ImportFrom) and node.level:
            eager.update(alias.asname or alias.name for alias in node.names)
    lazy = ora._LAZY  # type: ignore[attr-defined]
    assert checking == lazy
    assert not eager & set(lazy)
    assert eager | set(lazy) == {n for n in ora.__all__ if not n.startswith("__")}
