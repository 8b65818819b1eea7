"""Structured outputs: checking JSON against a schema, parsing into classes, response formats."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, Literal, TypedDict

import attrs
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

import openrouter_async as ora
from openrouter_async._convert import unstructure
from openrouter_async._structured import (
    ParsedChatCompletion,
    parse_completion,
    parse_json,
    response_format_for,
    schema_errors,
)
from openrouter_async.tools import json_schema_for
from openrouter_async.types.chat_request import ChatRequest, chat_request_body
from openrouter_async.types.responses import ChatCompletion, ChatMessage, Choice


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


@attrs.frozen
class Address:
    city: str
    zip_code: str | None = None


@attrs.frozen
class Person:
    """Someone."""

    name: str
    age: int
    mood: Mood
    address: Address
    nicknames: list[str] = attrs.field(factory=list)
    score: float = 0.0
    role: Literal["admin", "user"] = "user"


@dataclasses.dataclass(frozen=True)
class Pair:
    left: int
    right: int


@attrs.frozen
class Node:
    value: int
    children: list[Node] = attrs.field(factory=list)


class Movie(TypedDict):
    title: str
    year: int


GOOD = {
    "name": "Ada",
    "age": 36,
    "mood": "happy",
    "address": {"city": "London"},
    "nicknames": ["Countess"],
}


def completion(content: str | None, **choice: Any) -> ChatCompletion:
    message = ChatMessage(content=content, refusal=choice.pop("refusal", None))
    return ChatCompletion(id="gen-1", model="m/x", choices=[Choice(message=message, **choice)])


# --- schema_errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "schema", "errors"),
    [
        (1, {"type": "integer"}, []),
        (1.0, {"type": "integer"}, []),
        (1.5, {"type": "integer"}, ["$: expected integer, got number"]),
        (True, {"type": "integer"}, ["$: expected integer, got boolean"]),
        (True, {"type": "number"}, ["$: expected number, got boolean"]),
        (3, {"type": "number"}, []),
        ("x", {"type": ["string", "null"]}, []),
        (None, {"type": ["string", "null"]}, []),
        (5, {"type": ["string", "null"]}, ["$: expected string or null, got integer"]),
        ("c", {"enum": ["a", "b"]}, ['$: expected one of "a", "b", got "c"']),
        (1, {"enum": [True]}, ["$: expected one of true, got 1"]),
        (True, {"enum": [1]}, ["$: expected one of 1, got true"]),
        (1.0, {"enum": [1]}, []),
        ("b", {"const": "a"}, ['$: expected "a"']),
        ({}, {"type": "object", "required": ["a"]}, ["$: missing required property 'a'"]),
        (
            {"a": 1, "b": 2},
            {"type": "object", "properties": {"a": {}}, "additionalProperties": False},
            ["$: unexpected property 'b'"],
        ),
        (
            {"a": 1, "b": "x"},
            {"type": "object", "additionalProperties": {"type": "integer"}},
            ["$.b: expected integer, got string"],
        ),
        (
            [1, "x"],
            {"type": "array", "items": {"type": "integer"}},
            ["$[1]: expected integer, got string"],
        ),
        ([1], {"type": "array", "minItems": 2}, ["$: expected at least 2 items, got 1"]),
        ([1, 2, 3], {"type": "array", "maxItems": 2}, ["$: expected at most 2 items, got 3"]),
        ([1, 1], {"type": "array", "uniqueItems": True}, ["$[1]: duplicate item"]),
        (
            [1, 2],
            {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
            ["$[1]: expected string, got integer"],
        ),
        ("ab", {"type": "string", "minLength": 3}, ["$: expected at least 3 characters, got 2"]),
        ("abcd", {"type": "string", "maxLength": 3}, ["$: expected at most 3 characters, got 4"]),
        (
            "abc",
            {"type": "string", "pattern": "^[0-9]+$"},
            ["$: does not match the pattern '^[0-9]+$'"],
        ),
        (-1, {"type": "integer", "minimum": 0}, ["$: must be >= 0, got -1"]),
        (0, {"type": "integer", "exclusiveMinimum": 0}, ["$: must be > 0, got 0"]),
        (11, {"type": "integer", "maximum": 10}, ["$: must be <= 10, got 11"]),
        ("anything", {}, []),
        ("anything", True, []),
        ("anything", False, ["$: no value is allowed here"]),
        ({"x": 1}, {"type": "object", "unknownKeyword": 1}, []),
    ],
)
def test_schema_errors(value: Any, schema: Any, errors: list[str]) -> None:
    assert schema_errors(value, schema) == errors


def test_schema_errors_any_of_reports_the_branch_that_fits() -> None:
    schema = json_schema_for(Address | None)
    assert schema_errors(None, schema) == []
    assert schema_errors({"city": 5}, schema) == ["$.city: expected string, got integer"]
    assert schema_errors("x", schema) == ["$: expected an object or null, got string"]


def test_schema_errors_follows_refs() -> None:
    schema = json_schema_for(Node)
    bad = {"value": 1, "children": [{"value": 2, "children": [{"value": "x"}]}]}
    assert schema_errors(bad, schema) == [
        "$.children[0].children[0].value: expected integer, got string"
    ]


def test_schema_errors_lists_several_problems() -> None:
    errors = schema_errors({"name": 1, "extra": True}, json_schema_for(Person))
    assert "$.name: expected string, got integer" in errors
    assert "$: missing required property 'age'" in errors
    assert "$: unexpected property 'extra'" in errors


# --- parse_json ---------------------------------------------------------------------------------


def test_parse_json_builds_the_class() -> None:
    person = parse_json(orjson.dumps(GOOD).decode(), Person)
    assert person == Person(
        name="Ada",
        age=36,
        mood=Mood.HAPPY,
        address=Address(city="London"),
        nicknames=["Countess"],
    )
    assert person.role == "user"  # defaults apply to fields the model left out


def test_parse_json_accepts_a_code_fence() -> None:
    text = "```json\n" + orjson.dumps(GOOD).decode() + "\n```"
    assert parse_json(text, Person).name == "Ada"


def test_parse_json_other_class_kinds() -> None:
    assert parse_json('{"left": 1, "right": 2}', Pair) == Pair(1, 2)
    assert parse_json('{"title": "Up", "year": 2009}', Movie) == {"title": "Up", "year": 2009}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "no content"),
        ("  ", "no content"),
        ("{not json", "not valid JSON"),
        ('{"name": "Ada"}', "missing required property 'age'"),
        (
            '{"name": 5, "age": 1, "mood": "happy", "address": {"city": "x"}}',
            "$.name: expected string",
        ),
        (
            '{"name": "A", "age": "36", "mood": "happy", "address": {"city": "x"}}',
            "$.age: expected integer",
        ),
        (
            '{"name": "A", "age": 1, "mood": "meh", "address": {"city": "x"}}',
            '$.mood: expected one of "happy"',
        ),
        (
            '{"name": "A", "age": 1, "mood": "sad", "address": {"city": "x", "planet": "Mars"}}',
            "$.address: unexpected property 'planet'",
        ),
        ("[1, 2]", "$: expected an object, got array"),
    ],
)
def test_parse_json_mismatch_raises_with_raw_text(text: str | None, message: str) -> None:
    with pytest.raises(ora.StructuredOutputError) as info:
        parse_json(text, Person)
    assert message in str(info.value)
    assert info.value.raw == text


def test_parse_json_refuses_non_object_classes() -> None:
    with pytest.raises(ora.RequestValidationError):
        parse_json("[1]", list[int])  # type: ignore[arg-type]


# --- parse_completion ---------------------------------------------------------------------------


def test_parse_completion_keeps_the_completion() -> None:
    done = completion(orjson.dumps(GOOD).decode(), finish_reason="stop")
    parsed = parse_completion(done, Person)
    assert isinstance(parsed, ParsedChatCompletion)
    assert isinstance(parsed, ChatCompletion)
    assert parsed.parsed.address.city == "London"
    assert parsed.id == "gen-1"
    assert parsed.content == done.content
    assert parsed.choices == done.choices


def test_parse_completion_refusal_and_empty() -> None:
    with pytest.raises(ora.StructuredOutputError, match="refused: no") as info:
        parse_completion(completion(None, refusal="no"), Person)
    assert info.value.raw == "no"
    with pytest.raises(ora.StructuredOutputError, match="no choices"):
        parse_completion(ChatCompletion(), Person)


def test_parse_completion_cut_off_output_says_so() -> None:
    with pytest.raises(ora.StructuredOutputError, match="finish_reason 'length'") as info:
        parse_completion(completion('{"name": "Ad', finish_reason="length"), Person)
    assert info.value.raw == '{"name": "Ad'


# --- response_format_for ------------------------------------------------------------------------


def test_response_format_for_class() -> None:
    fmt = response_format_for(Person)
    assert isinstance(fmt, ora.ResponseFormatJSONSchema)
    wire = unstructure(fmt)
    assert wire["type"] == "json_schema"
    assert wire["json_schema"]["name"] == "Person"
    assert wire["json_schema"]["strict"] is True
    schema = wire["json_schema"]["schema"]
    assert schema["description"] == "Someone."
    assert schema["required"] == ["name", "age", "mood", "address", "nicknames", "score", "role"]
    body = orjson.loads(
        chat_request_body(
            ChatRequest(messages=[{"role": "user", "content": "x"}], response_format=fmt)
        )
    )
    assert body["response_format"] == wire


def test_response_format_options() -> None:
    fmt = response_format_for(Person, name="person_v2", description="A person.", strict=False)
    spec = fmt.json_schema
    assert spec.name == "person_v2"
    assert spec.description == "A person."
    assert spec.strict is False
    assert spec.schema is not None
    assert spec.schema["required"] == ["name", "age", "mood", "address"]


def test_response_format_name_is_sanitized() -> None:
    Weird = type("Weird Name!", (), {"__annotations__": {"a": "int"}})
    Weird = attrs.define(Weird)
    assert response_format_for(Weird).json_schema.name == "Weird_Name_"


def test_response_format_needs_an_object_type() -> None:
    with pytest.raises(ora.RequestValidationError) as info:
        response_format_for(int)
    assert info.value.path == "response_format"


# --- round trip ---------------------------------------------------------------------------------

people = st.builds(
    Person,
    name=st.text(),
    age=st.integers(min_value=-(2**53), max_value=2**53),
    mood=st.sampled_from(Mood),
    address=st.builds(Address, city=st.text(), zip_code=st.none() | st.text()),
    nicknames=st.lists(st.text(), max_size=3),
    score=st.floats(allow_nan=False, allow_infinity=False),
    role=st.sampled_from(["admin", "user"]),
)


@given(people)
def test_any_instance_matches_its_schema_and_parses_back(person: Person) -> None:
    data = unstructure(person)
    assert schema_errors(data, json_schema_for(Person)) == []
    assert schema_errors(data, json_schema_for(Person, strict=True)) == []
    assert parse_json(orjson.dumps(data).decode(), Person) == person
