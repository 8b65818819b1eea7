"""The one cattrs converter, configured in one place.

Two conventions, both decided here and nowhere else:

* **Requests** (classes marked with :func:`request_model`): fields left at ``None`` are not sent;
  every other field is always sent (so discriminators such as ``type="text"`` survive). A field's
  ``metadata={"json": "name"}`` renames it on the wire; a field marked ``extra_keys`` holds keys
  the SDK does not model, sent after the typed ones.
* **Responses** (classes marked with :func:`response_model`): unknown keys never fail. A response
  class may declare an ``extra`` field; unknown keys are collected there so they stay reachable.
  ``null`` means the field's default; a field's ``metadata={"repair": fn}`` reads a value of the
  wrong JSON type. Each class is structured by one generated function (see
  :func:`_make_response_structure`), and every failure is a ``ResponseValidationError``.

Unions of JSON scalars (``int | str`` error codes, ``str | list`` content) pass through as they are.

cattrs itself (about 0.7 MB of modules) is imported only when something needs it: unstructuring,
a field whose value is not of its declared JSON type, or a class that is not a response model.
Structuring a well-formed response (``create()``, a batch, a stream's usage) runs only the
generated functions, which need no cattrs.
"""

from __future__ import annotations

import linecache
import math
import types
import typing
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NoReturn, TypeVar

import attrs

from ._errors import OpenRouterError, ResponseValidationError

if typing.TYPE_CHECKING:
    import cattrs

__all__ = [
    "NO_EXTRA",
    "get_converter",
    "request_model",
    "response_model",
    "descriptor_setter",
    "slot_builder",
    "structure",
    "structurer",
    "transport_model",
    "unstructure",
]

#: The shared, read-only ``extra`` of a response object without unknown keys: most objects
#: have none, and a fresh empty dict for each one measured as needless garbage per response.
NO_EXTRA: Mapping[str, Any] = MappingProxyType({})

T = TypeVar("T")

_REQUEST_MODELS: set[type] = set()
_RESPONSE_MODELS: set[type] = set()
_TRANSPORT_MODELS: set[type] = set()


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
    from cattrs.gen import make_dict_unstructure_fn, override

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


# --------------------------------------------------------------------------- response structuring
#
# Structuring measured as the largest cost ``create()`` adds to a request when it went through
# cattrs' generic hooks (a hook call per field, a dispatch per object, a keyword call into each
# frozen ``__init__``). Nearly every value a server sends already has its declared JSON type, so
# each response class gets one function generated from its attrs fields: an inline class check
# per field, each slot filled through its descriptor, and only a value that fails its check
# handed to that field's fallback (the field's ``repair``, else cattrs' hook for its type).


def transport_model(cls: type[T]) -> type[T]:
    """Mark a class the transport attaches to results (``ResponseInfo``): a response field of
    this type is never read from a body, and a body key of that name is ignored."""
    _TRANSPORT_MODELS.add(cls)
    return cls


def _type_label(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def _bad_value(where: str, tp: Any, value: Any, exc: BaseException | None) -> str:
    # Never the value's repr: it may be huge or nested past the recursion limit.
    kind = "None" if value is None else type(value).__name__
    detail = f" ({type(exc).__name__}: {str(exc)[:200]})" if exc is not None else ""
    return f"{where}: cannot read a JSON {kind} as {_type_label(tp)}{detail}"


def _fallback(where: str, tp: Any, repair: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    """The slow path of one field: its ``repair``, else cattrs' hook for its type (looked up on
    first use), with every failure reported as :class:`ResponseValidationError`."""
    hook: list[Callable[[Any, Any], Any]] = []

    def fallback(value: Any) -> Any:
        try:
            if repair is not None:
                return repair(value)
            if not hook:
                hook.append(get_converter().get_structure_hook(tp))
            return hook[0](value, tp)
        except OpenRouterError:
            raise
        except Exception as exc:  # RecursionError, OverflowError, cattrs' own: all typed here
            raise ResponseValidationError(_bad_value(where, tp, value, exc)) from exc

    return fallback


def _kind(tp: Any) -> tuple[str, Any]:
    """How a field of type ``tp`` (``X | None`` unwrapped) is read, and the class involved."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) != 1:
            return "generic", tp
        return _kind(rest[0])
    if tp is Any:
        return "any", None
    if tp in _SCALARS:
        return "scalar", tp
    if tp in _RESPONSE_MODELS:
        return "model", tp
    if tp in _TRANSPORT_MODELS:
        return "transport", tp
    if origin is list and args and args[0] in _RESPONSE_MODELS:
        return "models", args[0]
    if origin is dict and args == (str, Any):
        return "object", None
    if origin is list and args == (dict[str, Any],):
        return "objects", None
    return "generic", tp


def _all_objects(items: list[Any]) -> bool:
    for item in items:  # noqa: SIM110  # a plain loop: no generator object per list
        if item.__class__ is not dict:
            return False
    return True


def _as_object(name: str) -> Callable[[Any], dict[str, Any]]:
    def as_object(data: Any) -> dict[str, Any]:
        if isinstance(data, Mapping):
            return dict(data)
        raise ResponseValidationError(_bad_value(name, dict, data, None))

    return as_object


def descriptor_setter(cls: type[Any], name: str) -> Any:
    """The ``__set__`` of slot ``name`` of ``cls``: fills a frozen object's field directly."""
    for klass in cls.__mro__:
        slot = klass.__dict__.get(name)
        if slot is not None and hasattr(slot, "__set__"):
            return slot.__set__
    raise AssertionError(f"{cls.__name__}.{name} is not a slot")  # pragma: no cover


_LITERALS = (str, int, bool, type(None))


def _nested_hook(scope: dict[str, Any], key: str, inner: type) -> Callable[..., Any]:
    """The hook of a nested model, generated when a body first has one: most bodies never
    carry logprobs, tool calls or errors, so their classes cost nothing until they do (and a
    model containing itself needs no special case). It replaces itself in the generated
    function's globals on first use."""

    def first_use(value: Any) -> Any:
        hook = scope[key] = _response_structure(inner)
        return hook(value)

    return first_use


#: The generated structure function of each response model, made on first use. The
#: converter's hook for a response model is this same function (see :func:`_configure`).
_STRUCTURERS: dict[type, Callable[..., Any]] = {}


def _response_structure(cls: type[Any]) -> Callable[..., Any]:
    function = _STRUCTURERS.get(cls)
    if function is None:
        function = _STRUCTURERS[cls] = _make_response_structure(cls)
    return function


def _make_response_structure(cls: type[Any]) -> Callable[..., Any]:
    """Generate ``structure(data, _type=None)`` for the response class ``cls``.

    Per field: absent or ``null`` means the default (API reference §0: ``null`` is "not set");
    a value of the declared JSON type is taken as it is (an object: its class's own generated
    function; a list of objects: null items skipped); anything else goes to the field's
    fallback. Unknown keys land in ``extra``; ``__attrs_post_init__`` runs last. The source is
    registered with ``linecache`` so a traceback shows the generated lines.
    """
    attrs.resolve_types(cls)
    return _generate(cls)


def _generate(cls: type[Any]) -> Callable[..., Any]:
    name = cls.__name__
    scope: dict[str, Any] = {
        "new": object.__new__,
        "cls": cls,
        "NO_EXTRA": NO_EXTRA,
        "as_object": _as_object(name),
        "all_objects": _all_objects,
        "missing": _missing,
    }
    lines = [
        "def structure(data, _type=None):",
        "    if data.__class__ is not dict:",
        "        data = as_object(data)",
        "    get = data.get",
        "    obj = new(cls)",
    ]
    known: set[str] = set()
    extra_field = None
    for i, field in enumerate(attrs.fields(cls)):
        if field.validator is not None or field.converter is not None:  # pragma: no cover
            raise AssertionError(f"{name}.{field.name}: response models take no validators")
        if field.name == "extra":
            extra_field = field
            continue
        wire = _wire_name(field)
        known.add(wire)
        kind, inner = _kind(field.type)
        scope[f"set{i}"] = descriptor_setter(cls, field.name)
        if kind == "transport":  # attached by the transport, never read from the body
            lines.append(f"    set{i}(obj, None)")
            continue
        default = field.default
        if default is attrs.NOTHING:
            value_if_null = f"missing({name + '.' + field.name!r})"
        elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
            scope[f"factory{i}"] = default.factory
            value_if_null = "[]" if default.factory is list else f"factory{i}()"
        elif default.__class__ in _LITERALS or (
            default.__class__ is float and math.isfinite(default)
        ):
            value_if_null = repr(default)
        else:
            scope[f"default{i}"] = default
            value_if_null = f"default{i}"
        where = f"{name}.{field.name}"
        scope[f"fb{i}"] = _fallback(where, field.type, field.metadata.get("repair"))
        lines.append(f"    v = get({wire!r})")
        if kind == "any":
            lines += ["    if v is None:", f"        v = {value_if_null}"]
        elif kind == "scalar" and value_if_null == "None":
            lines.append(f"    if v.__class__ is not {inner.__name__} and v is not None:")
            lines.append(f"        v = fb{i}(v)")
        else:
            if kind == "scalar":
                lines.append(f"    if v.__class__ is {inner.__name__}:")
                lines.append("        pass")
            elif kind == "model":
                scope[f"hook{i}"] = _nested_hook(scope, f"hook{i}", inner)
                lines += ["    if v.__class__ is dict:", f"        v = hook{i}(v)"]
            elif kind == "models":
                scope[f"hook{i}"] = _nested_hook(scope, f"hook{i}", inner)
                lines += [
                    "    if v.__class__ is list:",
                    # map(): no comprehension frame per list; null items are rare
                    f"        v = list(map(hook{i}, v)) if None not in v else"
                    f" [hook{i}(x) for x in v if x is not None]",
                ]
            elif kind == "object":
                lines += ["    if v.__class__ is dict:", "        pass"]
            elif kind == "objects":
                lines += ["    if v.__class__ is list and all_objects(v):", "        v = list(v)"]
            else:  # generic: the fallback decides
                lines += ["    if False:", "        pass"]
            if value_if_null == "None":
                lines += ["    elif v is not None:", f"        v = fb{i}(v)"]
            else:
                lines += [
                    "    elif v is None:",
                    f"        v = {value_if_null}",
                    "    else:",
                    f"        v = fb{i}(v)",
                ]
        lines.append(f"    set{i}(obj, v)")
    if extra_field is not None:
        scope["set_extra"] = descriptor_setter(cls, "extra")
        scope["is_known"] = frozenset(known).issuperset
        scope["known"] = frozenset(known)
        lines += [
            "    if is_known(data):",  # the usual case, answered without building a set
            "        set_extra(obj, NO_EXTRA)",
            "    else:",
            "        set_extra(obj, {k: x for k, x in data.items() if k not in known})",
        ]
    if hasattr(cls, "__attrs_post_init__"):
        scope["post_init"] = cls.__attrs_post_init__
        lines.append("    post_init(obj)")
    lines.append("    return obj")
    function: Callable[..., Any] = _compile(
        lines, scope, f"<structure {cls.__module__}.{cls.__qualname__}>", "structure"
    )
    return function


def _missing(where: str) -> NoReturn:
    raise ResponseValidationError(f"{where}: required, but absent or null")


def _compile(lines: list[str], scope: dict[str, Any], filename: str, name: str) -> Any:
    source = "\n".join(lines) + "\n"
    # The source holds field names, wire names and literal defaults only.
    exec(compile(source, filename, "exec"), scope)
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return scope[name]


def slot_builder(cls: type[T]) -> Callable[..., T]:
    """A keyword-only constructor for a frozen, slotted attrs class that fills each slot
    through its descriptor, as the generated structure functions do.

    attrs' frozen ``__init__`` pays a keyword call plus ``object.__setattr__`` per field
    (measured: 11.9k instructions for the seven fields of a batch result, 8.4k for a
    ``ResponseInfo``); this pays a slot store per field. It applies no defaults (every field
    must be passed) and refuses a class whose ``__init__`` would do more than store its
    arguments (validators, converters, ``__attrs_post_init__``, ``init=False`` fields), so the
    two constructors cannot disagree.
    """
    name = cls.__name__
    fields = attrs.fields(cls)  # type: ignore[arg-type]  # attrs refuses a non-attrs class
    for field in fields:
        if field.validator is not None or field.converter is not None or not field.init:
            raise TypeError(f"{name}.{field.name}: its __init__ does more than store it")
    if hasattr(cls, "__attrs_post_init__") or hasattr(cls, "__attrs_pre_init__"):
        raise TypeError(f"{name} runs code in __init__")
    scope: dict[str, Any] = {"new": object.__new__, "cls": cls}
    args = ", ".join(field.alias or field.name for field in fields)
    lines = [f"def build(*, {args}):", "    obj = new(cls)"]
    for i, field in enumerate(fields):
        scope[f"set{i}"] = descriptor_setter(cls, field.name)
        lines.append(f"    set{i}(obj, {field.alias or field.name})")
    lines.append("    return obj")
    build: Callable[..., T] = _compile(
        lines, scope, f"<build {cls.__module__}.{cls.__qualname__}>", "build"
    )
    return build


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
    from cattrs.gen import make_dict_unstructure_fn, override

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
    from cattrs.strategies import configure_union_passthrough

    configure_union_passthrough(int | float | str | bool | None, conv)
    conv.register_structure_hook_factory(
        lambda t: _optional_inner(t) is not None, lambda t: _make_optional(t, conv)
    )
    conv.register_unstructure_hook_factory(
        lambda t: t in _REQUEST_MODELS, lambda t: _make_request_unstructure(t, conv)
    )
    conv.register_structure_hook_factory(lambda t: t in _RESPONSE_MODELS, _response_structure)
    conv.register_unstructure_hook_factory(
        lambda t: t in _RESPONSE_MODELS, lambda t: _make_response_unstructure(t, conv)
    )
    # Arbitrary JSON values (metadata, schemas, raw provider bodies) pass through untouched.
    conv.register_structure_hook_func(lambda t: t is Any, lambda v, _: v)


_CONVERTER: list[cattrs.Converter] = []


def get_converter() -> cattrs.Converter:
    """The SDK's one cattrs converter, configured on first use."""
    if not _CONVERTER:
        import cattrs

        # detailed_validation off: callers translate any failure into one typed SDK error anyway.
        conv = cattrs.Converter(detailed_validation=False)
        _configure(conv)
        _CONVERTER.append(conv)
    return _CONVERTER[0]


def structure(data: Any, cls: type[T]) -> T:
    """Structure JSON-like data into ``cls`` with the SDK's one converter."""
    if cls in _RESPONSE_MODELS:  # the hook the converter would dispatch to, without cattrs
        result: T = _response_structure(cls)(data)
        return result
    return get_converter().structure(data, cls)


def structurer(cls: type[T]) -> Callable[[Any], T]:
    """The generated one-argument structure function of a response model: what
    ``structure(data, cls)`` calls, without the converter's dispatch on each call."""
    if cls not in _RESPONSE_MODELS:
        raise TypeError(f"{cls.__name__} is not a response model")
    hook: Callable[[Any], T] = _response_structure(cls)
    return hook


def unstructure(obj: Any) -> Any:
    """Unstructure an attrs model (or a container of them) into JSON-ready data."""
    return get_converter().unstructure(obj)
