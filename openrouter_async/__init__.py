"""openrouter_async: an async-first, streaming Python SDK for the OpenRouter API.

::

    import openrouter_async as ora

    async with ora.OpenRouter() as client:
        done = await client.chat.completions.create(model="openai/gpt-4o-mini", messages=[...])
        async with client.chat.completions.stream(model=..., messages=...) as stream:
            async for event in stream:
                match event:
                    case ora.TextDelta(text=text):
                        print(text, end="")

This module only re-exports. The client, its settings and the errors load with the package;
the model classes (about a hundred attrs classes) load on first use, so ``import
openrouter_async`` costs little more than importing aiohttp.
"""

from typing import TYPE_CHECKING, Any

from ._backoff import set_testing
from ._client import ClientState, OpenRouter
from ._config import PoolLimits, RetryPolicy, Timeouts
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    EdgeTimeoutError,
    GatewayTimeoutError,
    IncompleteStreamError,
    InternalServerError,
    MissingAPIKeyError,
    NotFoundError,
    OpenRouterError,
    PayloadTooLargeError,
    PaymentRequiredError,
    PermissionDeniedError,
    ProtocolError,
    ProviderOverloadedError,
    RateLimitError,
    RequestTimeoutError,
    RequestValidationError,
    ResponseValidationError,
    ServiceUnavailableError,
    StreamError,
    StructuredOutputError,
    UnprocessableEntityError,
)
from ._hooks import CallInfo, HookEvent

if TYPE_CHECKING:
    from ._batch import (
        Batch,
        BatchIndex,
        BatchProgress,
        BatchResult,
    )
    from ._streaming import (
        ChatStream,
        Stream,
    )
    from ._structured import (
        ParsedChatCompletion,
        parse_completion,
        response_format_for,
    )
    from ._tool_loop import (
        ToolInvocation,
        ToolResultEvent,
        ToolRunResult,
        ToolRunStream,
    )
    from .multimodal import (
        audio_part,
        file_part,
        image_part,
        video_part,
    )
    from .tools import (
        FunctionTool,
        function_tool,
        json_schema_for,
        tool_schema,
    )
    from .types.account import (
        Credits,
        KeyInfo,
    )
    from .types.chat_request import (
        ChatRequest,
    )
    from .types.chunks import (
        ChatCompletionChunk,
    )
    from .types.completions import (
        TextCompletion,
    )
    from .types.content import (
        AudioPart,
        CacheControl,
        FilePart,
        ImagePart,
        TextPart,
        VideoPart,
    )
    from .types.embeddings import (
        EmbeddingsResponse,
    )
    from .types.events import (
        AnnotationsDelta,
        Finish,
        ImagesDelta,
        KeepAlive,
        ReasoningDelta,
        RefusalDelta,
        StreamEvent,
        TextDelta,
        ToolCallDelta,
        ToolCallDone,
        Usage,
    )
    from .types.generation import (
        Generation,
    )
    from .types.messages import (
        AssistantMessage,
        DeveloperMessage,
        SystemMessage,
        ToolMessage,
        UserMessage,
    )
    from .types.models import (
        Model,
        ModelsPage,
    )
    from .types.options import (
        ProviderPreferences,
        Reasoning,
    )
    from .types.responses import (
        ChatCompletion,
        ChatMessage,
        Choice,
        CompletionUsage,
        FunctionCall,
        ResponseInfo,
        ToolCall,
    )
    from .types.tools import (
        FunctionDefinition,
        JSONSchemaSpec,
        ResponseFormatJSONObject,
        ResponseFormatJSONSchema,
        ResponseFormatText,
        ServerTool,
        Tool,
    )

__version__ = "0.1.0"

# name -> module, imported on first attribute access (PEP 562).
_LAZY: dict[str, str] = {
    "Batch": "._batch",
    "BatchIndex": "._batch",
    "BatchProgress": "._batch",
    "BatchResult": "._batch",
    "ChatStream": "._streaming",
    "Stream": "._streaming",
    "ParsedChatCompletion": "._structured",
    "parse_completion": "._structured",
    "response_format_for": "._structured",
    "ToolInvocation": "._tool_loop",
    "ToolResultEvent": "._tool_loop",
    "ToolRunResult": "._tool_loop",
    "ToolRunStream": "._tool_loop",
    "FunctionTool": ".tools",
    "function_tool": ".tools",
    "json_schema_for": ".tools",
    "tool_schema": ".tools",
    "audio_part": ".multimodal",
    "file_part": ".multimodal",
    "image_part": ".multimodal",
    "video_part": ".multimodal",
    "ChatRequest": ".types.chat_request",
    "ChatCompletionChunk": ".types.chunks",
    "AudioPart": ".types.content",
    "CacheControl": ".types.content",
    "FilePart": ".types.content",
    "ImagePart": ".types.content",
    "TextPart": ".types.content",
    "VideoPart": ".types.content",
    "AnnotationsDelta": ".types.events",
    "Finish": ".types.events",
    "ImagesDelta": ".types.events",
    "KeepAlive": ".types.events",
    "ReasoningDelta": ".types.events",
    "RefusalDelta": ".types.events",
    "StreamEvent": ".types.events",
    "TextDelta": ".types.events",
    "ToolCallDelta": ".types.events",
    "ToolCallDone": ".types.events",
    "Usage": ".types.events",
    "AssistantMessage": ".types.messages",
    "DeveloperMessage": ".types.messages",
    "SystemMessage": ".types.messages",
    "ToolMessage": ".types.messages",
    "UserMessage": ".types.messages",
    "ChatCompletion": ".types.responses",
    "ChatMessage": ".types.responses",
    "Choice": ".types.responses",
    "CompletionUsage": ".types.responses",
    "FunctionCall": ".types.responses",
    "ResponseInfo": ".types.responses",
    "ToolCall": ".types.responses",
    "ProviderPreferences": ".types.options",
    "Reasoning": ".types.options",
    "FunctionDefinition": ".types.tools",
    "JSONSchemaSpec": ".types.tools",
    "ResponseFormatJSONObject": ".types.tools",
    "ResponseFormatJSONSchema": ".types.tools",
    "ResponseFormatText": ".types.tools",
    "ServerTool": ".types.tools",
    "Tool": ".types.tools",
    "Model": ".types.models",
    "ModelsPage": ".types.models",
    "Generation": ".types.generation",
    "EmbeddingsResponse": ".types.embeddings",
    "TextCompletion": ".types.completions",
    "Credits": ".types.account",
    "KeyInfo": ".types.account",
}


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module_name, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
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
    "CallInfo",
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
    "HookEvent",
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
]
