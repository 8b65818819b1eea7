"""pydantic models where a class is accepted: structured outputs and tool arguments.

Why it is built this way: pydantic is optional (the ``pydantic`` extra), and importing it costs
more than the rest of the SDK, so nothing here imports it. A type can only be a pydantic model
if pydantic is already loaded (the user defined the model), so :func:`is_model` looks in
``sys.modules`` and the other functions are reached only after it said yes. A model's schema is
pydantic's own (``model_json_schema()``) and its values are validated by pydantic, so a model
behaves exactly as its author wrote it (validators, aliases, constraints, lax coercion).
"""

from __future__ import annotations

import functools
import sys
import typing
from collections.abc import Mapping
from typing import Any

__all__ = ["contains_model", "is_model", "model_schema", "strict_schema", "validate"]


def is_model(tp: object) -> bool:
    """Whether ``tp`` is a pydantic model class (``False`` whenever pydantic is not loaded)."""
    pydantic = sys.modules.get("pydantic")
    return pydantic is not None and isinstance(tp, type) and issubclass(tp, pydantic.BaseModel)


def contains_model(tp: object) -> bool:
    """Whether ``tp`` is a pydantic model or a type built from one (``list[M]``, ``M | None``)."""
    if "pydantic" not in sys.modules:
        return False
    if is_model(tp):
        return True
    return any(contains_model(arg) for arg in typing.get_args(tp))


def model_schema(cls: type[Any]) -> dict[str, Any]:
    """pydantic's JSON Schema of ``cls`` (nested models in ``$defs``, referenced by ``$ref``)."""
    schema: dict[str, Any] = cls.model_json_schema()
    return schema


def strict_schema(schema: Any) -> Any:
    """``schema`` in the form OpenAI-style strict mode accepts: every object lists all of its
    properties as required and allows no others, and no ``default`` keywords are left."""
    if isinstance(schema, list):
        return [strict_schema(item) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "default":
            continue
        if key in ("properties", "$defs", "definitions") and isinstance(value, Mapping):
            out[key] = {name: strict_schema(sub) for name, sub in value.items()}
        else:
            out[key] = strict_schema(value)
    if isinstance(out.get("properties"), Mapping):
        out["required"] = list(out["properties"])
        out["additionalProperties"] = False
    return out


@functools.lru_cache(maxsize=256)
def _adapter(tp: Any) -> Any:
    # Only reached for a type that contains a model, so pydantic is loaded: no import here, and
    # the package type-checks without pydantic installed.
    return sys.modules["pydantic"].TypeAdapter(tp)


def validate(tp: Any, data: Any) -> Any:
    """``data`` (parsed JSON) validated as ``tp`` by pydantic.

    Raises ``ValueError`` (pydantic's ``ValidationError`` is one) with pydantic's message.
    """
    if is_model(tp):
        return tp.model_validate(data)
    return _adapter(tp).validate_python(data)
