"""Pure: the common shape of a non-streaming completion, built without the generic converter.

Structuring a completion through cattrs measured as the largest cost ``create()`` adds to a
request: a hook call per field, a dispatch per object, a repair copy of every dict, and a
keyword call into each frozen ``__init__``. Nearly every body has exact JSON types and nothing
to repair, so this path checks each value's class and fills the objects' slots directly
(rule 10: models built by the parser skip user-facing validation; these classes have none).
Anything else (a mistyped value, a content-part list, a tool call without an id, a field only
the generic path knows) raises :class:`Bail`, and the caller sends the body down the generic
path, which stays the definition of the result; a property test holds the two paths equal.

Each class gets a parser generated once, at import, from its attrs fields and a table of
field kinds below: inline class checks cost a fraction of a helper call per field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from ._convert import NO_EXTRA, structure
from .types.responses import (
    ChatCompletion,
    ChatMessage,
    Choice,
    ChoiceLogprobs,
    CompletionTokensDetails,
    CompletionUsage,
    CostDetails,
    FunctionCall,
    PromptTokensDetails,
    ServerToolUse,
    ToolCall,
)

__all__ = ["Bail", "build_chat_completion"]


class Bail(Exception):
    """The body needs the generic path (repairs, coercions or an error to report)."""


def _extra(data: dict[str, Any], known: frozenset[str]) -> Any:
    """Unknown keys, kept reachable; the shared empty mapping when there are none."""
    if known.issuperset(data):  # the usual case, answered without building a set
        return NO_EXTRA
    return {key: value for key, value in data.items() if key not in known}


def _objects(items: list[Any]) -> list[Any]:
    """A JSON list of objects, as a new list (the generic path copies it too)."""
    for item in items:
        if item.__class__ is not dict:
            raise Bail
    return list(items)


def _widen(value: Any) -> float:
    """An int where a float is declared becomes a float, as on the generic path."""
    if value.__class__ is int:
        return float(value)
    raise Bail


# A field's kind -> the lines that read it into ``v`` from the body ``value`` (via ``get``).
# ``{k}`` is the wire name, ``{d}`` the declared default. The generic path is the reference
# for each rule: nulls it drops become the default, nulls it keeps stay null.
_TEMPLATES = {
    # a string that must be there or default; null means a repair: generic path
    "str": ["v = get({k}, {d})", "if v.__class__ is not str: raise Bail"],
    "str?": ["v = get({k})", "if v is not None and v.__class__ is not str: raise Bail"],
    "int?": ["v = get({k})", "if v is not None and v.__class__ is not int: raise Bail"],
    "bool?": ["v = get({k})", "if v is not None and v.__class__ is not bool: raise Bail"],
    "dict?": ["v = get({k})", "if v is not None and v.__class__ is not dict: raise Bail"],
    "float?": ["v = get({k})", "if v is not None and v.__class__ is not float: v = widen(v)"],
    # an int whose null the generic path drops (token counts, created)
    "int": [
        "v = get({k})",
        "if v.__class__ is not int:",
        "    if v is not None: raise Bail",
        "    v = {d}",
    ],
    # a list of objects; null or absent is the empty list
    "objects": [
        "v = get({k})",
        "if v is None: v = []",
        "elif v.__class__ is list: v = objects(v)",
        "else: raise Bail",
    ],
    # a field the wire never fills on this path (the generic path decides if it does)
    "null": ["if get({k}) is not None: raise Bail", "v = None"],
}


def _parser(cls: type[Any], kinds: Mapping[str, str], args: tuple[str, ...] = ()) -> Any:
    """Generate ``parse(value, *args)`` building ``cls`` from the dict ``value``.

    Every field but ``extra`` is either read by its kind in ``kinds`` or, if named in
    ``args``, passed in by the caller (nested objects the caller parsed). A ``None`` value
    parses to ``None``; a non-dict is :class:`Bail`. Checked against the class at import.
    """
    fields = [field for field in attrs.fields(cls) if field.name != "extra"]
    names = {field.name for field in fields}
    if set(kinds) | set(args) != names or set(kinds) & set(args):  # pragma: no cover
        raise AssertionError(f"{cls.__name__}: kinds and args must cover {sorted(names)}")
    for field in fields:  # the templates read field names and literal defaults
        kind = kinds.get(field.name)
        if field.metadata.get("json") or (
            kind in ("str", "int") and not isinstance(field.default, (str, int))
        ):  # pragma: no cover
            raise AssertionError(f"{cls.__name__}.{field.name} needs a template for its shape")
    scope: dict[str, Any] = {
        "Bail": Bail,
        "new": object.__new__,
        "cls": cls,
        "known": frozenset(names),
        "extra_of": _extra,
        "objects": _objects,
        "widen": _widen,
        "set_extra": cls.__dict__["extra"].__set__,
    }
    lines = [
        f"def parse(value, {', '.join(args)}):",
        "    if value is None: return None",
        "    if value.__class__ is not dict: raise Bail",
        "    get = value.get",
        "    obj = new(cls)",
    ]
    for field in fields:
        name = field.name
        scope[f"set_{name}"] = cls.__dict__[name].__set__
        if name in args:
            lines.append(f"    set_{name}(obj, {name})")
            continue
        default = field.default
        for line in _TEMPLATES[kinds[name]]:
            lines.append("    " + line.format(k=repr(name), d=repr(default)))
        lines.append(f"    set_{name}(obj, v)")
    lines += ["    set_extra(obj, extra_of(value, known))", "    return obj"]
    exec("\n".join(lines), scope)  # the source holds field names and literal defaults only
    return scope["parse"]


def _all(cls: type[Any], kind: str) -> dict[str, str]:
    return {f.name: kind for f in attrs.fields(cls) if f.name != "extra"}


_prompt_details = _parser(PromptTokensDetails, _all(PromptTokensDetails, "int?"))
_completion_details = _parser(CompletionTokensDetails, _all(CompletionTokensDetails, "int?"))
_cost_details = _parser(CostDetails, _all(CostDetails, "float?"))
_tool_use = _parser(ServerToolUse, _all(ServerToolUse, "int?"))
_usage_of = _parser(
    CompletionUsage,
    {
        "prompt_tokens": "int",
        "completion_tokens": "int",
        "total_tokens": "int",
        "cost": "float?",
        "is_byok": "bool?",
    },
    (
        "prompt_tokens_details",
        "completion_tokens_details",
        "cost_details",
        "server_tool_use",
        "server_tool_use_details",
    ),
)
_function_of = _parser(FunctionCall, {}, ("name", "arguments"))
_tool_call_of = _parser(ToolCall, {}, ("id", "type", "function"))
_message_of = _parser(
    ChatMessage,
    {
        "role": "str",
        "content": "str?",
        "reasoning": "str?",
        "refusal": "str?",
        "audio": "dict?",
        "reasoning_details": "objects",
        "annotations": "objects",
        "images": "objects",
        "content_parts": "null",  # only the generic path turns a part list into these
    },
    ("tool_calls",),
)
_choice_of = _parser(
    Choice,
    {"finish_reason": "str?", "native_finish_reason": "str?", "error": "null"},
    ("index", "message", "logprobs"),
)
_completion_of = _parser(
    ChatCompletion,
    {
        "id": "str",
        "object": "str",
        "created": "int",
        "model": "str",
        "provider": "str?",
        "system_fingerprint": "str?",
        "service_tier": "str?",
        "openrouter_metadata": "dict?",
        "response": "null",  # never from the body; the transport attaches it
    },
    ("choices", "usage"),
)


def _usage(data: Any) -> Any:
    if data is None:
        return None
    if data.__class__ is not dict:
        raise Bail
    get = data.get
    tool_use = _tool_use(get("server_tool_use"))
    tool_use_details = _tool_use(get("server_tool_use_details"))
    return _usage_of(
        data,
        _prompt_details(get("prompt_tokens_details")),
        _completion_details(get("completion_tokens_details")),
        _cost_details(get("cost_details")),
        tool_use if tool_use is not None else tool_use_details,  # the alias folds in
        tool_use_details,
    )


def _tool_call(data: Any, used: set[str]) -> Any:
    if data.__class__ is not dict:
        raise Bail
    call_id = data.get("id")
    if call_id.__class__ is not str or not call_id or call_id in used:
        raise Bail  # the generic path makes ids unique
    used.add(call_id)
    kind = data.get("type")
    if kind is None:
        kind = "function"
    fn = data.get("function")
    if kind.__class__ is not str or fn.__class__ is not dict:
        raise Bail
    name = fn.get("name")
    if name is None:
        name = ""
    args = fn.get("arguments")
    if args is None or (args.__class__ is str and not args.strip()):
        args = "{}"
    if name.__class__ is not str or args.__class__ is not str:
        raise Bail
    return _tool_call_of(data, call_id, kind, _function_of(fn, name, args))


def _choice(data: Any, position: int, used: set[str]) -> Any:
    if data.__class__ is not dict:
        raise Bail
    index = data.get("index")
    if index.__class__ is not int:
        if index.__class__ is bool:
            raise Bail  # the generic path reads True as 1
        index = position
    message = data.get("message")
    if message.__class__ is not dict:
        raise Bail
    calls = message.get("tool_calls")
    if calls is None:
        tool_calls = []
    elif calls.__class__ is list:
        tool_calls = [_tool_call(call, used) for call in calls]
    else:
        raise Bail
    logprobs = data.get("logprobs")
    if logprobs is not None:
        if logprobs.__class__ is not dict:
            raise Bail
        try:
            logprobs = structure(logprobs, ChoiceLogprobs)
        except Exception as exc:
            raise Bail from exc
    return _choice_of(data, index, _message_of(message, tool_calls), logprobs)


def build_chat_completion(data: dict[str, Any], choices: list[Any]) -> ChatCompletion:
    """The completion of a body already checked for error envelopes; :class:`Bail` when the
    body needs the generic path."""
    used: set[str] = set()
    built = [_choice(choice, i, used) for i, choice in enumerate(choices)]
    completion: ChatCompletion = _completion_of(data, built, _usage(data.get("usage")))
    return completion
