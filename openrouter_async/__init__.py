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

This module only re-exports; the implementation lives in private modules.
"""

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
from ._retry import set_testing
from ._streaming import ChatStream
from .types.chat_request import ChatRequest
from .types.chunks import ChatCompletionChunk
from .types.content import (
    AudioPart,
    CacheControl,
    FilePart,
    ImagePart,
    TextPart,
    VideoPart,
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
from .types.messages import (
    AssistantMessage,
    DeveloperMessage,
    SystemMessage,
    ToolMessage,
    UserMessage,
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
from .types.routing import ProviderPreferences, Reasoning
from .types.tools import (
    FunctionDefinition,
    JSONSchemaSpec,
    ResponseFormatJSONObject,
    ResponseFormatJSONSchema,
    ResponseFormatText,
    Tool,
)

__version__ = "0.1.0"

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
    "DeveloperMessage",
    "EdgeTimeoutError",
    "FilePart",
    "Finish",
    "FunctionCall",
    "FunctionDefinition",
    "GatewayTimeoutError",
    "ImagePart",
    "ImagesDelta",
    "IncompleteStreamError",
    "InternalServerError",
    "JSONSchemaSpec",
    "KeepAlive",
    "MissingAPIKeyError",
    "NotFoundError",
    "OpenRouter",
    "OpenRouterError",
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
    "ServiceUnavailableError",
    "StreamError",
    "StreamEvent",
    "StructuredOutputError",
    "SystemMessage",
    "TextDelta",
    "TextPart",
    "Timeouts",
    "Tool",
    "ToolCall",
    "ToolCallDelta",
    "ToolCallDone",
    "ToolMessage",
    "UnprocessableEntityError",
    "Usage",
    "UserMessage",
    "VideoPart",
    "__version__",
    "set_testing",
]
