"""JSON Schema from Python types, and the docstring parsing that supplies its descriptions.

This is its own module because the mapping from Python types to JSON Schema serves two callers,
function tools (:mod:`openrouter_async.tools`) and structured outputs (``_structured``), and is
self-contained pure code: it needs no asyncio and no knowledge of calling a function, so keeping
it apart holds ``tools.py`` to the function-tool machinery and under the module size limit. The
type mapping and the docstring conventions are documented once, in :mod:`openrouter_async.tools`,
which re-exports :func:`json_schema_for` as the public name.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import inspect
import math
import re
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal, NamedTuple, NewType

import attrs
import orjson

from ._convert import unstructure
from ._errors import RequestValidationError
from ._pydantic import is_model, model_schema, strict_schema

__all__ = [
    "SchemaBuilder",
    "SchemaField",
    "json_kind",
    "json_schema_for",
    "parse_docstring",
    "schema_error",
]

_FACTORY: type = type(attrs.Factory(list))
_SCALARS = (str, int, float, bool, type(None))

# typing.Required / NotRequired / ReadOnly appear in TypedDict hints (Python 3.11+ / 3.13+).
_TYPEDDICT_QUALIFIERS = tuple(
    q for q in (getattr(typing, n, None) for n in ("Required", "NotRequired", "ReadOnly")) if q
)
_ARRAY_ORIGINS = (list, cabc.Sequence, cabc.MutableSequence, cabc.Iterable, cabc.Collection)
_SET_ORIGINS = (set, frozenset, cabc.Set, cabc.MutableSet)
_MAPPING_ORIGINS = (dict, cabc.Mapping, cabc.MutableMapping)


def json_kind(value: Any) -> str:
    """The JSON Schema type name of a parsed JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def schema_error(message: str, path: str) -> typing.NoReturn:
    raise RequestValidationError(message, path=path)


# --- docstrings -----------------------------------------------------------------------------------

#: Sections whose items describe parameters (functions) or fields (classes).
_PARAM_SECTIONS = frozenset({"args", "arguments", "parameters", "params", "attributes", "fields"})
_PARAM_SECTIONS |= {"keyword args", "keyword arguments", "other parameters"}
_GOOGLE_HEADER = re.compile(r"^([A-Za-z][A-Za-z ]*):\s*$")
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_UNDERLINE = re.compile(r"^-{3,}\s*$")
_NUMPY_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?::.*)?$")
_SPHINX_PARAM = re.compile(
    r"^:(?:param|parameter|arg|argument|key|keyword)\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$"
)
_SPHINX_FIELD = re.compile(r"^:\w+")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _join(lines: list[str]) -> str:
    """Docstring text with wrapped lines joined; blank lines keep paragraphs apart."""
    paragraphs: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def _is_section_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _indent(line) == 0 and _GOOGLE_HEADER.match(line):
        return True
    if line.strip() and i + 1 < len(lines) and _NUMPY_UNDERLINE.match(lines[i + 1].strip()):
        return True
    return bool(_SPHINX_FIELD.match(line.strip())) and _indent(line) == 0


def parse_docstring(doc: str | None) -> tuple[str | None, dict[str, str]]:
    """``(description, {parameter: description})`` from a Google, NumPy or Sphinx docstring."""
    if not doc or not doc.strip():
        return None, {}
    lines = inspect.cleandoc(doc).splitlines()
    end = next((i for i in range(len(lines)) if _is_section_start(lines, i)), len(lines))
    summary = _join(lines[:end]) or None
    params: dict[str, str] = {}
    i = end
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        header = _GOOGLE_HEADER.match(line) if _indent(line) == 0 else None
        if i + 1 < len(lines) and stripped and _NUMPY_UNDERLINE.match(lines[i + 1].strip()):
            i = _numpy_section(lines, i, params)
        elif header is not None:
            i = _google_section(lines, i, params, header.group(1).strip().lower())
        elif (match := _SPHINX_PARAM.match(stripped)) is not None:
            text = [match.group(2)]
            i += 1
            while i < len(lines) and lines[i].strip() and _indent(lines[i]) > 0:
                text.append(lines[i])
                i += 1
            params.setdefault(match.group(1), _join(text))
        else:
            i += 1
    return summary, {k: v for k, v in params.items() if v}


def _google_section(lines: list[str], i: int, params: dict[str, str], name: str) -> int:
    collect = name in _PARAM_SECTIONS
    i += 1
    item_indent: int | None = None
    current: str | None = None
    text: list[str] = []

    def flush() -> None:
        if current is not None and collect:
            params.setdefault(current, _join(text))

    while i < len(lines):
        line = lines[i]
        if line.strip() and _indent(line) == 0:
            break
        if line.strip():
            indent = _indent(line)
            if item_indent is None:
                item_indent = indent
            match = _GOOGLE_ITEM.match(line.strip()) if indent <= item_indent else None
            if match is not None:
                flush()
                current, text = match.group(1), [match.group(2)]
            elif current is not None:
                text.append(line)
        i += 1
    flush()
    return i


def _numpy_section(lines: list[str], i: int, params: dict[str, str]) -> int:
    collect = lines[i].strip().lower() in _PARAM_SECTIONS
    base = _indent(lines[i])
    i += 2
    current: str | None = None
    text: list[str] = []
    while i < len(lines):
        line = lines[i]
        if i + 1 < len(lines) and line.strip() and _NUMPY_UNDERLINE.match(lines[i + 1].strip()):
            break
        if line.strip():
            if _indent(line) <= base:
                match = _NUMPY_ITEM.match(line.strip())
                if match is not None:
                    if current is not None and collect:
                        params.setdefault(current, _join(text))
                    current, text = match.group(1), []
            elif current is not None:
                text.append(line)
        i += 1
    if current is not None and collect:
        params.setdefault(current, _join(text))
    return i


def _class_doc(cls: type) -> str | None:
    doc = cls.__doc__
    if not doc:
        return None
    # Docstrings generated rather than written: a dataclass's signature, Enum's placeholder.
    if dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "("):
        return None
    if issubclass(cls, enum.Enum) and doc.strip() in (
        "An enumeration.",
        "Create a collection of name/value pairs.",
    ):
        return None
    return doc


# --- JSON Schema from types -----------------------------------------------------------------------


def _json_default(value: Any) -> tuple[bool, Any]:
    """``(True, json_value)`` when ``value`` can be written as a JSON ``default``."""
    try:
        data = unstructure(value)
        orjson.dumps(data)
    except Exception:
        return False, None
    if isinstance(data, float) and not math.isfinite(data):
        return False, None
    return True, data


def _scalar_type(values: list[Any]) -> str | None:
    kinds = {json_kind(v) for v in values}
    if kinds == {"integer", "number"}:
        return "number"
    return kinds.pop() if len(kinds) == 1 else None


def _is_class_model(tp: Any) -> bool:
    return isinstance(tp, type) and (
        attrs.has(tp) or dataclasses.is_dataclass(tp) or typing.is_typeddict(tp)
    )


def _type_hints(owner: Any, path: str) -> dict[str, Any]:
    try:
        return typing.get_type_hints(owner, include_extras=True)
    except Exception as exc:
        schema_error(
            f"cannot resolve the type hints of {getattr(owner, '__qualname__', owner)!r} ({exc}); "
            "types named in annotations must be importable from the module (not local to a "
            "function)",
            path,
        )


class SchemaField(NamedTuple):
    name: str
    type: Any
    required: bool
    default: Any = attrs.NOTHING  # NOTHING: no default that can be written in the schema
    description: str | None = None


def _class_fields(cls: type, hints: Mapping[str, Any]) -> list[SchemaField]:
    if attrs.has(cls):
        return [
            SchemaField(
                a.name,
                hints.get(a.name, a.type),
                a.default is attrs.NOTHING,
                attrs.NOTHING if isinstance(a.default, _FACTORY) else a.default,
                a.metadata.get("description"),
            )
            for a in attrs.fields(cls)
            if a.init
        ]
    if dataclasses.is_dataclass(cls):
        missing = dataclasses.MISSING
        return [
            SchemaField(
                f.name,
                hints.get(f.name, f.type),
                f.default is missing and f.default_factory is missing,
                attrs.NOTHING if f.default is missing else f.default,
                f.metadata.get("description"),
            )
            for f in dataclasses.fields(cls)
            if f.init
        ]
    fields = []  # a TypedDict
    required_keys = getattr(cls, "__required_keys__", frozenset(hints))
    for name, tp in hints.items():
        # With postponed annotations the class cannot see Required / NotRequired when it is
        # created, so __required_keys__ misses them: read them from the resolved hints.
        required = name in required_keys
        while (origin := typing.get_origin(tp)) in _TYPEDDICT_QUALIFIERS:
            if getattr(origin, "_name", "") in ("Required", "NotRequired"):
                required = origin._name == "Required"
            tp = typing.get_args(tp)[0]
        fields.append(SchemaField(name, tp, required))
    return fields


class SchemaBuilder:
    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.defs: dict[str, dict[str, Any]] = {}
        self.def_names: dict[type, str] = {}
        self.stack: list[type] = []
        self.recursive: set[type] = set()

    def root(self, tp: Any, path: str) -> dict[str, Any]:
        schema = self.build(tp, path)
        if "$ref" in schema and isinstance(tp, type) and tp in self.def_names:
            schema = dict(self.defs[self.def_names[tp]])
        if self.defs:
            schema["$defs"] = self.defs
        return schema

    def build(self, tp: Any, path: str) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            base, *extras = typing.get_args(tp)
            schema = dict(self.build(base, path))
            for extra in extras:
                doc = getattr(extra, "documentation", None)  # typing_extensions.Doc
                if isinstance(extra, str) or isinstance(doc, str):
                    schema["description"] = extra if isinstance(extra, str) else doc
                elif isinstance(extra, Mapping):
                    schema.update(extra)
            return schema
        if tp is Any or tp is object:
            return {}
        if tp is None or tp is type(None):
            return {"type": "null"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if isinstance(tp, NewType):
            return self.build(tp.__supertype__, path)
        if origin is Literal:
            return self.literal_schema(typing.get_args(tp), path)
        if origin is typing.Union or origin is types.UnionType:
            return self.union_schema(typing.get_args(tp), path)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return self.enum_schema(tp, path)
        if is_model(tp):
            return self.pydantic_model(tp, path)
        if _is_class_model(tp):
            return self.class_model(tp, path)
        if tp in _ARRAY_ORIGINS or origin in _ARRAY_ORIGINS:
            args = typing.get_args(tp)
            return (
                {"type": "array", "items": self.build(args[0], f"{path}[]")}
                if args
                else {"type": "array"}
            )
        if tp in _SET_ORIGINS or origin in _SET_ORIGINS:
            args = typing.get_args(tp)
            schema = {"type": "array", "uniqueItems": True}
            return {**schema, "items": self.build(args[0], f"{path}[]")} if args else schema
        if tp is tuple or origin is tuple:
            return self.tuple_schema(typing.get_args(tp), path)
        if tp in _MAPPING_ORIGINS or origin in _MAPPING_ORIGINS:
            return self.mapping_schema(typing.get_args(tp), path)
        schema_error(
            f"cannot describe {tp!r} in JSON Schema (supported: str, int, float, bool, None, "
            "Any, Literal, Enum, unions, list/tuple/set, dict[str, X], attrs classes, "
            "dataclasses, TypedDict)",
            path,
        )

    def literal_schema(self, values: tuple[Any, ...], path: str) -> dict[str, Any]:
        out: list[Any] = []
        for value in values:
            if isinstance(value, enum.Enum):
                value = value.value
            if not isinstance(value, _SCALARS):
                schema_error(
                    f"Literal values must be str, int, float, bool or None, got {value!r}", path
                )
            out.append(value)
        schema: dict[str, Any] = {"enum": out}
        kind = _scalar_type(out)
        if kind is not None:
            schema = {"type": kind, **schema}
        return schema

    def enum_schema(self, cls: type[enum.Enum], path: str) -> dict[str, Any]:
        values = [member.value for member in cls]
        for value in values:
            if not isinstance(value, _SCALARS):
                schema_error(
                    f"enum {cls.__name__} has a value that is not a JSON scalar: {value!r}", path
                )
        schema = self.literal_schema(tuple(values), path)
        summary, _ = parse_docstring(_class_doc(cls))
        if summary:
            schema["description"] = summary
        return schema

    def union_schema(self, members: tuple[Any, ...], path: str) -> dict[str, Any]:
        schemas = [self.build(member, path) for member in members]
        if all(set(s) == {"type"} and isinstance(s["type"], str) for s in schemas):
            names: list[str] = []
            for s in schemas:
                if s["type"] not in names:
                    names.append(s["type"])
            return {"type": names[0] if len(names) == 1 else names}
        return {"anyOf": schemas}

    def tuple_schema(self, args: tuple[Any, ...], path: str) -> dict[str, Any]:
        if not args:
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.build(args[0], f"{path}[]")}
        if args == ((),):  # tuple[()]
            return {"type": "array", "maxItems": 0}
        items = [self.build(arg, f"{path}[{i}]") for i, arg in enumerate(args)]
        return {
            "type": "array",
            "prefixItems": items,
            "minItems": len(items),
            "maxItems": len(items),
        }

    def mapping_schema(self, args: tuple[Any, ...], path: str) -> dict[str, Any]:
        if not args:
            return {"type": "object"}
        key, value = args
        if key is not str and key is not Any:
            schema_error(
                f"JSON object keys are strings; dict keys of type {key!r} are not supported", path
            )
        values = self.build(value, f"{path}[]")
        return {"type": "object", "additionalProperties": values} if values else {"type": "object"}

    def pydantic_model(self, cls: type, path: str) -> dict[str, Any]:
        """pydantic's own schema for the model; its ``$defs`` join the document's."""
        schema = model_schema(cls)
        if self.strict:
            schema = strict_schema(schema)
        for name, sub in schema.pop("$defs", {}).items():
            if self.defs.get(name, sub) != sub:
                schema_error(
                    f"two different types are both named {name!r} in this schema; rename one",
                    path,
                )
            self.defs[name] = sub
        return schema

    def class_model(self, cls: type, path: str) -> dict[str, Any]:
        if cls in self.stack or cls in self.def_names:
            self.recursive.add(cls)
            return {"$ref": f"#/$defs/{self.def_name(cls)}"}
        self.stack.append(cls)
        try:
            schema = self.object_schema(cls, path)
        finally:
            self.stack.pop()
        if cls in self.recursive:
            self.defs[self.def_name(cls)] = schema
            return {"$ref": f"#/$defs/{self.def_name(cls)}"}
        return schema

    def def_name(self, cls: type) -> str:
        name = self.def_names.get(cls)
        if name is None:
            base = re.sub(r"[^a-zA-Z0-9_-]", "_", cls.__name__)
            name, n = base, 1
            while name in self.def_names.values():
                n += 1
                name = f"{base}_{n}"
            self.def_names[cls] = name
        return name

    def object_schema(self, cls: type, path: str) -> dict[str, Any]:
        summary, docs = parse_docstring(_class_doc(cls))
        hints = _type_hints(cls, path)
        fields = _class_fields(cls, hints)
        schema: dict[str, Any] = {"type": "object"}
        if summary:
            schema["description"] = summary
        schema.update(self.properties(fields, docs, f"{path}" if path else cls.__name__))
        return schema

    def properties(
        self, fields: list[SchemaField], docs: Mapping[str, str], path: str
    ) -> dict[str, Any]:
        props: dict[str, Any] = {}
        required: list[str] = []
        for name, tp, is_required, default, description in fields:
            prop = self.build(tp, f"{path}.{name}" if path else name)
            text = description if isinstance(description, str) else docs.get(name)
            if text and "description" not in prop and "$ref" not in prop:
                prop = {**prop, "description": text}
            if default is not attrs.NOTHING and not self.strict and "$ref" not in prop:
                ok, value = _json_default(default)
                if ok:
                    prop = {**prop, "default": value}
            props[name] = prop
            if is_required or self.strict:
                required.append(name)
        return {"properties": props, "required": required, "additionalProperties": False}


def json_schema_for(tp: Any, *, strict: bool = False) -> dict[str, Any]:
    """The JSON Schema for a Python type (see :mod:`openrouter_async.tools` for the mapping).

    ``strict=True`` lists every property as required and leaves out ``default`` keywords, as
    OpenAI-style strict mode demands. Raises ``RequestValidationError`` for a type that has no
    JSON Schema (the error's ``path`` names the field).
    """
    name = getattr(tp, "__name__", "") if _is_class_model(tp) else ""
    return SchemaBuilder(strict=strict).root(tp, name)
