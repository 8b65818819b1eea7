"""Regenerate ``openrouter-subset.json`` from OpenRouter's OpenAPI description.

Run once by hand (needs PyYAML, which the test suite does not)::

    python tests/data/openapi/extract.py /path/to/in.openapi.yaml

It keeps the responses of the endpoints the emulator serves and every component schema they
reference (transitively), and drops ``example``/``examples``/``description`` annotations to keep
the file small. ``$ref`` pointers are left as they are (``#/components/schemas/...``), so the
output resolves against itself. See SOURCE.md for where the input came from.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

#: (path, method) pairs the emulator implements and the schema describes.
ENDPOINTS = (
    ("/chat/completions", "post"),
    ("/embeddings", "post"),
    ("/generation", "get"),
    ("/models", "get"),
    ("/models/count", "get"),
    ("/models/{author}/{slug}/endpoints", "get"),
    ("/providers", "get"),
    ("/credits", "get"),
    ("/key", "get"),
)
_ANNOTATIONS = {"example", "examples", "description"}
_NAME_MAPS = {"properties", "patternProperties", "$defs"}  # keys here are names, not keywords
_REF = "#/components/schemas/"


def _strip(node: Any, names: bool = False) -> Any:
    if isinstance(node, dict):
        return {
            k: _strip(v, k in _NAME_MAPS and not names)
            for k, v in node.items()
            if names or k not in _ANNOTATIONS
        }
    if isinstance(node, list):
        return [_strip(v) for v in node]
    return node


def _refs(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            found.add(ref[len(_REF) :])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def extract(doc: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    for path, method in ENDPOINTS:
        op = doc["paths"][path][method]
        by_status: dict[str, Any] = {}
        for status, response in op["responses"].items():
            content = response.get("content") or {}
            by_status[str(status)] = {
                ctype: _strip(media["schema"]) for ctype, media in content.items()
            }
        responses.setdefault(path, {})[method] = by_status
    all_schemas = doc["components"]["schemas"]
    wanted: dict[str, Any] = {}
    todo = sorted(_refs(responses))
    while todo:
        name = todo.pop()
        if name in wanted:
            continue
        wanted[name] = _strip(all_schemas[name])
        todo.extend(sorted(_refs(wanted[name]) - set(wanted)))
    return {
        "$comment": "Subset of OpenRouter's OpenAPI 3.1 description; see SOURCE.md.",
        "responses": responses,
        "components": {"schemas": dict(sorted(wanted.items()))},
    }


def main(argv: list[str]) -> None:
    source = Path(argv[1])
    out = Path(__file__).with_name("openrouter-subset.json")
    subset = extract(yaml.safe_load(source.read_text(encoding="utf-8")))
    out.write_text(json.dumps(subset, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{out}: {len(subset['components']['schemas'])} schemas")


if __name__ == "__main__":
    main(sys.argv)
