"""Validation and coercion helpers shared by the request models.

Why it is built this way:

* Every failure is a :class:`RequestValidationError` whose ``path`` names the field the way a
  user would point at it in the JSON body (``messages[2].tool_call_id``) and whose message gives
  the allowed values or range. A class validates its own fields with paths relative to itself;
  whoever builds it from a nested value prefixes its own position (:func:`reraise_under`).
* Plain values (dicts for messages, parts, tools, ...) are turned into the attrs classes by attrs
  *field converters*, so ``ChatRequest(messages=[{...}])`` and ``coerce_chat_request(**kwargs)``
  run the same code and produce the same objects and bytes. cattrs stays confined to
  ``_convert.py`` (layering rule), and its error groups never reach users.
* Per-class tables (wire name → attribute, required fields) are computed once per class and
  cached; building from a mapping does no reflection per call.
* Forward compatibility: OpenRouter ships new optional keys and enum values without notice. A
  key a class does not model is kept in its ``extra`` field and sent unchanged, and an
  enum-like field takes any string (:func:`check_open_choice`). What is refused is a wrong type, or
  what the API documents as invalid.
* Python's ``bool`` is an ``int``: every numeric check rejects booleans explicitly. NaN and
  infinities are rejected wherever a number is expected.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import attrs

from .._errors import RequestValidationError

__all__ = [
    "EXTRA_KEYS",
    "NAME_PATTERN",
    "check_bool",
    "check_choice",
    "check_int",
    "check_json_object",
    "check_name",
    "check_open_choice",
    "check_number",
    "check_str",
    "check_str_items",
    "coerce_model",
    "coerce_models",
    "constant",
    "deep_merge",
    "dispatch",
    "extra_field",
    "fail",
    "from_mapping",
    "join_path",
    "optional_bool",
    "optional_choice",
    "optional_int",
    "optional_json_object",
    "optional_number",
    "optional_str",
    "optional_str_items",
    "required_str",
    "reraise_under",
    "to_str_tuple",
    "to_tuple",
    "type_name",
    "wire_fields",
]

T = TypeVar("T")
Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]

#: Tool, function and JSON-schema names: letters, digits, ``_`` and ``-``, 1 to 64 characters.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9_-]{1,64}")


# --- paths and errors -------------------------------------------------------------------------


def join_path(prefix: str, path: str) -> str:
    """``join_path("messages[0]", "content")`` → ``"messages[0].content"``; indexes attach."""
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


def fail(message: str, path: str = "") -> NoReturn:
    raise RequestValidationError(message, path=path)


def reraise_under(prefix: str, exc: RequestValidationError) -> NoReturn:
    """Re-raise ``exc`` with its path placed under ``prefix`` (the position of the nested value)."""
    raise RequestValidationError(exc.message, path=join_path(prefix, exc.path)) from None


def type_name(value: object) -> str:
    return "None" if value is None else type(value).__name__


# --- scalar checks (usable directly, with an explicit path) ------------------------------------


def check_str(
    value: object, path: str, *, nonempty: bool = False, max_len: int | None = None
) -> str:
    if not isinstance(value, str):
        fail(f"must be a string, got {type_name(value)}", path)
    if nonempty and not value:
        fail("must be a non-empty string", path)
    if max_len is not None and len(value) > max_len:
        fail(f"must be at most {max_len} characters long, got {len(value)}", path)
    return value


def check_bool(value: object, path: str) -> bool:
    if not isinstance(value, bool):
        fail(f"must be a boolean, got {type_name(value)}", path)
    return value


def check_int(value: object, path: str, *, lo: int | None = None, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        fail(f"must be an integer{_int_range(lo, hi)}, got {type_name(value)}", path)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        fail(f"must be an integer{_int_range(lo, hi)}, got {value}", path)
    return value


def _int_range(lo: int | None, hi: int | None) -> str:
    if lo is not None and hi is not None:
        return f" in the range [{lo}, {hi}]"
    if lo is not None:
        return f" >= {lo}"
    if hi is not None:
        return f" <= {hi}"
    return ""


def check_number(
    value: object,
    path: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> float:
    """A finite int or float (not a bool) within the given (optionally open) bounds."""
    rng = _number_range(lo, hi, lo_open, hi_open)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        fail(f"must be a number{rng}, got {type_name(value)}", path)
    if isinstance(value, float) and not math.isfinite(value):
        fail(f"must be a finite number{rng}, got {value}", path)
    too_low = lo is not None and (value <= lo if lo_open else value < lo)
    too_high = hi is not None and (value >= hi if hi_open else value > hi)
    if too_low or too_high:
        fail(f"must be a number{rng}, got {value}", path)
    return value


def _number_range(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is not None and hi is not None:
        return f" in the range {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {hi:g}"
    return ""


def check_choice(value: object, path: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` exactly (a closed set, such as a query parameter's)."""
    if not isinstance(value, str) or value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        shown = repr(value) if isinstance(value, str) else type_name(value)
        fail(f"must be one of {allowed}, got {shown}", path)
    return value


def check_open_choice(value: object, path: str, choices: tuple[str, ...]) -> str:
    """A value of an enum-like request field: the known ``choices`` or any other string.

    OpenRouter adds values without notice (a new service tier, a new modality), so a string the
    SDK does not know is sent as given; only a value that is not a string at all is refused.
    Type checkers still see the known values through the fields' ``Literal`` annotations.
    """
    if not isinstance(value, str):
        allowed = ", ".join(repr(c) for c in choices)
        fail(f"must be a string such as {allowed}, got {type_name(value)}", path)
    return value


def check_name(value: object, path: str) -> str:
    """A tool / function / schema name: ``[a-zA-Z0-9_-]``, 1 to 64 characters."""
    name = check_str(value, path)
    if NAME_PATTERN.fullmatch(name) is None:
        fail(
            f"must match [a-zA-Z0-9_-]{{1,64}} (letters, digits, '_' and '-', 1 to 64 "
            f"characters), got {name!r}",
            path,
        )
    return name


def check_json_object(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        fail(f"must be a JSON object (a mapping), got {type_name(value)}", path)
    for key in value:
        if not isinstance(key, str):
            fail(f"keys must be strings, got {type_name(key)}", path)
    return value


def check_str_items(
    value: object,
    path: str,
    *,
    nonempty_items: bool = True,
    max_items: int | None = None,
    choices: tuple[str, ...] | None = None,
) -> tuple[str, ...]:
    if not isinstance(value, tuple):
        fail(f"must be a list of strings, got {type_name(value)}", path)
    if max_items is not None and len(value) > max_items:
        fail(f"must contain at most {max_items} items, got {len(value)}", path)
    for i, item in enumerate(value):
        if choices is not None:
            check_open_choice(item, f"{path}[{i}]", choices)
        else:
            check_str(item, f"{path}[{i}]", nonempty=nonempty_items)
    return value


# --- attrs validator factories -----------------------------------------------------------------
# Each returns an attrs validator ``(instance, attribute, value)`` whose error path is the field's
# name; ``None`` always passes for the ``optional_*`` ones (unset fields are not sent).


def constant(expected: str) -> Validator:
    """A discriminator (``type``, ``role``) that has exactly one allowed value."""

    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value != expected:
            shown = repr(value) if isinstance(value, str) else type_name(value)
            fail(f"must be {expected!r}, got {shown}", attribute.name)

    return validate


def required_str(*, nonempty: bool = False, max_len: int | None = None) -> Validator:
    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        check_str(value, attribute.name, nonempty=nonempty, max_len=max_len)

    return validate


def optional_str(*, nonempty: bool = False, max_len: int | None = None) -> Validator:
    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check_str(value, attribute.name, nonempty=nonempty, max_len=max_len)

    return validate


def optional_bool(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_bool(value, attribute.name)


def optional_int(*, lo: int | None = None, hi: int | None = None) -> Validator:
    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check_int(value, attribute.name, lo=lo, hi=hi)

    return validate


def optional_number(
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> Validator:
    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check_number(value, attribute.name, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)

    return validate


def optional_choice(*choices: str) -> Validator:
    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check_open_choice(value, attribute.name, choices)

    return validate


def optional_json_object(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_json_object(value, attribute.name)


def optional_str_items(
    *,
    nonempty_items: bool = True,
    max_items: int | None = None,
    choices: tuple[str, ...] | None = None,
) -> Validator:
    def validate(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None:
            check_str_items(
                value,
                attribute.name,
                nonempty_items=nonempty_items,
                max_items=max_items,
                choices=choices,
            )

    return validate


def to_tuple(value: Any) -> Any:
    """Field converter: a list or tuple becomes a tuple; anything else is left for the validator."""
    if isinstance(value, list):
        return tuple(value)
    return value


def to_str_tuple(value: Sequence[str] | None) -> tuple[str, ...] | None:
    """Typed field converter for optional lists of strings (see :func:`to_tuple`)."""
    result: tuple[str, ...] | None = to_tuple(value)
    return result


def _check_extra(_: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        check_json_object(value, attribute.name)


#: Metadata key marking a request model's ``extra`` field (see :func:`extra_field`).
EXTRA_KEYS = "extra_keys"


def extra_field() -> Any:
    """The ``extra`` field of a request model: keys the SDK does not model, sent unchanged.

    Building from a mapping fills it with the unknown keys; ``_convert`` merges it back into
    the object's JSON after the typed fields (it never overrides them: a typed field wins).
    """
    return attrs.field(
        default=None, validator=_check_extra, metadata={EXTRA_KEYS: True}, kw_only=True
    )


def deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` merged into ``base`` in place: objects key by key (recursively), anything else
    (lists, scalars, ``None``) replaced. ``extra_body={"provider": {"options": {...}}}`` so adds
    ``provider.options`` and keeps a typed ``provider.order``."""
    for key, value in extra.items():
        current = base.get(key)
        if isinstance(value, Mapping) and isinstance(current, dict):
            deep_merge(current, value)
        elif isinstance(value, Mapping):
            base[key] = deep_merge({}, value)
        else:
            base[key] = value
    return base


# --- building attrs classes from mappings ------------------------------------------------------


@attrs.frozen
class _ModelSpec:
    name: str
    wire_to_attr: dict[str, str]
    required: tuple[str, ...]  # wire names
    open: bool  # has an ``extra`` field: unknown keys are kept there and sent unchanged


_SPECS: dict[type, _ModelSpec] = {}


def _spec(cls: type) -> _ModelSpec:
    spec = _SPECS.get(cls)
    if spec is None:
        wire_to_attr: dict[str, str] = {}
        required: list[str] = []
        is_open = False
        for field in attrs.fields(cls):
            if field.metadata.get(EXTRA_KEYS):
                is_open = True
                continue
            if not field.init:
                continue
            wire = field.metadata.get("json", field.name)
            wire_to_attr[wire] = field.alias or field.name
            if field.default is attrs.NOTHING:
                required.append(wire)
        spec = _ModelSpec(
            name=cls.__name__, wire_to_attr=wire_to_attr, required=tuple(required), open=is_open
        )
        _SPECS[cls] = spec
    return spec


def wire_fields(cls: type) -> Mapping[str, str]:
    """The wire names ``cls`` accepts when built from a mapping (→ attribute names)."""
    return _spec(cls).wire_to_attr


def from_mapping(cls: type[T], data: Mapping[Any, Any], path: str) -> T:
    """Build ``cls`` from its JSON shape. Keys it does not model go to its ``extra`` (sent
    unchanged); a key that is not a string and a missing required field are errors."""
    spec = _spec(cls)
    kwargs: dict[str, Any] = {}
    extra: dict[str, Any] | None = None
    table = spec.wire_to_attr
    for key, value in data.items():
        attr = table.get(key)
        if attr is None:
            if not isinstance(key, str):
                fail(f"keys must be strings, got {type_name(key)}", path)
            if not spec.open:
                expected = ", ".join(table)
                fail(
                    f"unknown field {key!r} for {spec.name} (expected: {expected})",
                    join_path(path, key),
                )
            if extra is None:
                extra = {}
            extra[key] = value
            continue
        kwargs[attr] = value
    if len(kwargs) < len(table):
        for wire in spec.required:
            if table[wire] not in kwargs:
                fail(f"required field is missing ({spec.name})", join_path(path, wire))
    if extra is not None:
        kwargs["extra"] = extra
    try:
        return cls(**kwargs)
    except RequestValidationError as exc:
        reraise_under(path, exc)


def coerce_model(cls: type[T], value: object, path: str, *, what: str | None = None) -> T:
    """``value`` as an instance of ``cls``: kept when it is one, built when it is a mapping."""
    if isinstance(value, cls):
        return value
    if isinstance(value, Mapping):
        return from_mapping(cls, value, path)
    fail(f"must be {what or cls.__name__} or a mapping, got {type_name(value)}", path)


def dispatch(
    value: object,
    path: str,
    *,
    key: str,
    table: Mapping[str, type[Any]],
    accept: tuple[type, ...],
    what: str,
    fallback: type[Any] | None = None,
    fallback_hint: str = "",
) -> Any:
    """Build one member of a union discriminated by ``key`` (``role``, ``type``, ``id``).

    Instances of ``accept`` are kept as they are; a mapping is routed by its ``key`` value
    through ``table`` (or to ``fallback`` when the value is unknown and a fallback exists;
    ``fallback_hint`` describes those other values in error messages).
    """
    if isinstance(value, accept):
        return value
    if not isinstance(value, Mapping):
        fail(f"must be {what} object or a mapping, got {type_name(value)}", path)
    tag = value.get(key)
    cls = table.get(tag) if isinstance(tag, str) else None
    if cls is None:
        if fallback is not None and isinstance(tag, str):
            cls = fallback
        else:
            allowed = ", ".join(repr(t) for t in table) + fallback_hint
            if tag is None:
                fail(f"required field is missing (one of {allowed})", join_path(path, key))
            shown = repr(tag) if isinstance(tag, str) else type_name(tag)
            fail(f"must be one of {allowed}, got {shown}", join_path(path, key))
    return from_mapping(cls, value, path)


def coerce_models(
    value: object,
    path: str,
    item: Callable[[object, str], T],
    *,
    what: str,
    nonempty: bool = False,
) -> tuple[T, ...]:
    """A list/tuple whose items are each converted by ``item(value, "path[i]")``."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        fail(f"must be a list of {what}, got {type_name(value)}", path)
    if nonempty and not value:
        fail(f"must be a non-empty list of {what} (at least 1 item)", path)
    return tuple([item(v, f"{path}[{i}]") for i, v in enumerate(value)])


def merge_request_fields(
    request: object,
    kwargs: Mapping[str, Any],
    *,
    fields: frozenset[str],
    required: str,
    what: str,
) -> dict[str, Any]:
    """The fields of a request given as a mapping and/or keyword arguments, checked.

    The same name in both, a name the request class does not model (with a pointer to
    ``extra_body``) and a missing ``required`` field are errors; so is anything other than a
    mapping or ``None`` for ``request`` (``what`` names the class that is also accepted).
    """
    if request is None:
        data: dict[str, Any] = dict(kwargs)
    elif isinstance(request, Mapping):
        data = dict(request)
        for name in kwargs:
            if name in data:
                fail("given both in the request mapping and as a keyword argument", name)
        data.update(kwargs)
    else:
        fail(f"expected a {what}, a mapping or keyword arguments, got {type_name(request)}")
    unknown = [name for name in data if name not in fields]
    if unknown:
        shown = ", ".join(repr(name) for name in unknown)
        fail(
            f"unknown request field(s) {shown}; to send a field the SDK does not model, "
            f"pass it in extra_body, e.g. extra_body={{{unknown[0]!r}: ...}}",
            str(unknown[0]),
        )
    if required not in data:
        fail("required field is missing", required)
    return data
