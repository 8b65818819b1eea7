"""The one cattrs converter, configured in one place.

Two conventions, both decided here and nowhere else:

* **Requests** (classes marked with :func:`request_model`): fields left at ``None`` are not sent;
  every other field is always sent (so discriminators such as ``type="text"`` survive). A field's
  ``metadata={"json": "name"}`` renames it on the wire; a field marked ``extra_keys`` holds keys
  the SDK does not model, sent after the typed ones.
* **Responses** (classes marked with :func:`response_model`): unknown keys never fail. A response
  class may declare an ``extra`` field; unknown keys are collected there so they stay reachable.

Unions of JSON scalars (``int | str`` error codes, ``str | list`` content) pass through as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.strategies import configure_union_passthrough

__all__ = [
    "NO_EXTRA",
    "converter",
    "request_model",
    "response_model",
    "structure",
    "unstructure",
]

#: The shared, read-only ``extra`` of a response object without unknown keys: most objects
#: have none, and a fresh empty dict for each one measured as needless garbage per response.
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})

T = TypeVar("T")

_REQUEST_MODELS: set[type] = set()
_RESPONSE_MODELS: set[type] = set()


def request_model(cls: type[T]) -> type[T]:
    """Mark an attrs class as a request model (omit ``None`` fields when unstructuring)."""
    _REQUEST_MODELS.add(cls)
    return cls


def response_model(cls: type[T]) -> type[T]:
    """Mark an attrs class as a response model (tolerant structuring, unknown keys in ``extra``)."""
    _RESPONSE_MODELS.add(cls)
    return cls


def _wire_name(field: attrs.Attribute[Any]) -> str:
    name = field.metadata.get("json")
    return name if isinstance(name, str) else field.name


def _make_request_unstructure(cls: type[Any], conv: cattrs.Converter) -> Callable[[Any], Any]:
    overrides: dict[str, Any] = {}
    extra_name = None
    for field in attrs.fields(cls):
        if field.metadata.get("extra_keys"):
            # Keys the SDK does not model (types/_validators.extra_field): sent after the typed
            # fields, never replacing one.
            extra_name = field.name
            overrides[field.name] = override(omit=True)
            continue
        always = field.default is not None
        overrides[field.name] = override(
            rename=_wire_name(field) if _wire_name(field) != field.name else None,
            omit_if_default=not always,
        )
    base = make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)
    if extra_name is None:
        return base

    def unstructure_with_extra(obj: Any) -> Any:
        data = base(obj)
        extra = getattr(obj, extra_name)
        if extra:
            for key, value in extra.items():
                data.setdefault(key, value)
        return data

    return unstructure_with_extra


def _make_response_structure(cls: type[T], conv: cattrs.Converter) -> Callable[[Any, Any], T]:
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # only called for attrs classes
    has_extra = any(f.name == "extra" for f in fields)
    overrides: dict[str, Any] = {}
    known: set[str] = set()
    for field in fields:
        if field.name == "extra":
            overrides["extra"] = override(omit=True)
            continue
        wire = _wire_name(field)
        known.add(wire)
        if wire != field.name:
            overrides[field.name] = override(rename=wire)
    base = make_dict_structure_fn(cls, conv, _cattrs_forbid_extra_keys=False, **overrides)
    if not has_extra:
        return base

    known_keys = frozenset(known)

    def structure_keeping_extra(data: Any, type_: Any) -> T:
        obj = base(data, type_)
        unknown = data.keys() - known_keys  # a C-level set difference; usually empty
        if unknown:
            object.__setattr__(obj, "extra", {k: data[k] for k in unknown})
        return obj

    return structure_keeping_extra


_SCALARS: dict[Any, Callable[[Any], Any]] = {str: str, int: int, float: float, bool: bool}


def _optional_inner(type_: Any) -> Any:
    """``X`` for ``X | None`` where X is a scalar or a response model, else None."""
    args: tuple[Any, ...] = getattr(type_, "__args__", ())
    if len(args) != 2 or type(None) not in args:
        return None
    inner = args[0] if args[1] is type(None) else args[1]
    return inner if inner in _SCALARS or inner in _RESPONSE_MODELS else None


def _make_optional(type_: Any, conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """``str | None``, ``Usage | None``...: the commonest response fields, structured without
    cattrs' generic union dispatch (which measured as the largest cost of a response)."""
    inner = _optional_inner(type_)
    if inner is str:
        return lambda v, _: v if v is None or v.__class__ is str else str(v)
    convert = _SCALARS.get(inner)
    if convert is not None:
        return lambda v, _: None if v is None else convert(v)
    hook = conv.get_structure_hook(inner)
    return lambda v, _: None if v is None else hook(v, inner)


def _make_response_unstructure(cls: type[Any], conv: cattrs.Converter) -> Callable[[Any], Any]:
    """Back to the wire shape: declared fields under their wire names, unknown keys from
    ``extra`` merged back, and nothing that is not wire data (``response``, aliases kept
    only for comparison: fields declared with ``eq=False``)."""
    overrides: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name == "extra" or not field.eq:
            overrides[field.name] = override(omit=True)
        elif _wire_name(field) != field.name:
            overrides[field.name] = override(rename=_wire_name(field))
    base = make_dict_unstructure_fn(cls, conv, **overrides)
    if not any(f.name == "extra" for f in attrs.fields(cls)):
        return base

    def unstructure_with_extra(obj: Any) -> Any:
        data = base(obj)
        if obj.extra:
            data.update(obj.extra)
        return data

    return unstructure_with_extra


def _configure(conv: cattrs.Converter) -> None:
    configure_union_passthrough(int | float | str | bool | None, conv)
    conv.register_structure_hook_factory(
        lambda t: _optional_inner(t) is not None, lambda t: _make_optional(t, conv)
    )
    conv.register_unstructure_hook_factory(
        lambda t: t in _REQUEST_MODELS, lambda t: _make_request_unstructure(t, conv)
    )
    conv.register_structure_hook_factory(
        lambda t: t in _RESPONSE_MODELS, lambda t: _make_response_structure(t, conv)
    )
    conv.register_unstructure_hook_factory(
        lambda t: t in _RESPONSE_MODELS, lambda t: _make_response_unstructure(t, conv)
    )
    # Arbitrary JSON values (metadata, schemas, raw provider bodies) pass through untouched.
    conv.register_structure_hook_func(lambda t: t is Any, lambda v, _: v)


# detailed_validation off: callers translate any failure into one typed SDK error anyway.
converter = cattrs.Converter(detailed_validation=False)
_configure(converter)


def structure(data: Any, cls: type[T]) -> T:
    """Structure JSON-like data into ``cls`` with the SDK's one converter."""
    return converter.structure(data, cls)


def unstructure(obj: Any) -> Any:
    """Unstructure an attrs model (or a container of them) into JSON-ready data."""
    return converter.unstructure(obj)
