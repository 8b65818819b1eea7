"""The command line in-process: argument parsing, formatting, rendering (no subprocesses)."""

from __future__ import annotations

import argparse
import io
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console

import openrouter_async as ora
from openrouter_async import _cli
from openrouter_async._cli import _common, _reply, chat, demo, models
from openrouter_async.testing import Emulator
from openrouter_async.types.responses import CompletionUsage


def text_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=100, highlight=False, soft_wrap=True), buffer


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENROUTER_API_KEY", raising=False)
    monkeypatch.delenv("OPENROUTER_BASE_URL", raising=False)


# -- the top level ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["chat", "hi"], "chat"),
        (["--version"], None),
        (["models", "--emulator"], "models"),
        (["nope"], None),
        ([], None),
        (["--", "chat"], None),
    ],
)
def test_chosen_command(argv: list[str], expected: str | None) -> None:
    assert _cli._chosen_command(argv) == expected


@pytest.mark.parametrize("command", ["chat", "models"])
def test_api_key_help_warns_about_the_process_list(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli.main([command, "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "$OPENROUTER_API_KEY, which is safer" in help_text
    assert "process list" in help_text


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in _cli.COMMANDS:
        assert name in out


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main([]) == 2
    assert "<command>" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["--version"]) == 0
    assert ora.__version__ in capsys.readouterr().out


def test_missing_command_module_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(_cli.COMMANDS, "batch", ("_no_such_module", "run many"))
    assert _cli.main(["batch", "--concurrency", "4", "prompts.jsonl"]) == 2
    err = capsys.readouterr().err
    assert "'batch' command is not available" in err
    assert "Traceback" not in err


def test_chat_arguments() -> None:
    parser, module = _cli.build_parser("chat")
    assert module is chat
    args = parser.parse_args(
        ["chat", "-m", "x/y", "-s", "be brief", "-t", "0.5", "--max-tokens", "9", "--json", "hi"]
    )
    assert (args.model, args.system, args.temperature, args.max_tokens) == (
        "x/y",
        "be brief",
        0.5,
        9,
    )
    assert args.json
    assert not args.emulator
    assert args.prompt == "hi"
    assert _reply.build_request(args, "hi") == {
        "model": "x/y",
        "messages": [
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "hi"},
        ],
        "temperature": 0.5,
        "max_tokens": 9,
    }


def test_chat_default_model_depends_on_emulator() -> None:
    parser, _ = _cli.build_parser("chat")
    plain = _reply.build_request(parser.parse_args(["chat", "hi"]), "hi")
    assert plain["model"] == "openai/gpt-4o-mini"
    emulated = parser.parse_args(["chat", "--emulator", "--reasoning-effort", "low", "hi"])
    request = _reply.build_request(emulated, "hi")
    assert request["model"] == "emulator/echo"
    assert request["reasoning"] == {"effort": "low"}


@pytest.mark.parametrize(
    "argv",
    [
        ["chat", "-t", "2.5", "x"],
        ["chat", "--max-tokens", "0", "x"],
        ["chat", "--timeout", "-1", "x"],
        ["models", "--limit", "none"],
        ["emulator", "--port", "70000"],
        ["demo", "--concurrency", "0"],
    ],
)
def test_bad_flags_are_usage_errors(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(argv) == 2
    assert "error:" in capsys.readouterr().err


# -- prompt, key, errors ---------------------------------------------------------------------


class _Stdin(io.StringIO):
    def __init__(self, text: str, *, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_read_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _common.read_prompt("given") == "given"
    monkeypatch.setattr("sys.stdin", _Stdin("piped\n", tty=False))
    assert _common.read_prompt(None) == "piped"
    monkeypatch.setattr("sys.stdin", _Stdin("dash\n", tty=False))
    assert _common.read_prompt("-") == "dash"
    monkeypatch.setattr("sys.stdin", _Stdin("", tty=True))
    with pytest.raises(_common.CLIError, match="No prompt"):
        _common.read_prompt(None)
    monkeypatch.setattr("sys.stdin", _Stdin("  \n", tty=False))
    with pytest.raises(_common.CLIError, match="empty"):
        _common.read_prompt("-")


async def test_open_client_without_key_suggests_the_emulator() -> None:
    args = argparse.Namespace(api_key=None, base_url=None, emulator=False, timeout=None)
    with pytest.raises(_common.CLIError, match="--emulator") as caught:
        async with _common.open_client(args):
            pass
    assert caught.value.status == 2


async def test_open_client_honours_flags_and_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "from-env")
    monkeypatch.setenv("OPENROUTER_BASE_URL", "http://127.0.0.1:9/api/v1")
    args = argparse.Namespace(api_key=None, base_url=None, emulator=False, timeout=None)
    async with _common.open_client(args) as client:
        assert client.base_url == "http://127.0.0.1:9/api/v1"
    args.base_url = "http://127.0.0.1:8/v1"
    async with _common.open_client(args) as client:
        assert client.base_url == "http://127.0.0.1:8/v1"


def test_main_without_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["chat", "hello"]) == 2
    err = capsys.readouterr().err
    assert "--emulator" in err
    assert "OPENROUTER_API_KEY" in err


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            ora.RateLimitError(
                "Slow down\n  please", status_code=429, metadata={"error_type": "rate_limit"}
            ),
            "RateLimitError (status 429, rate_limit): Slow down please",
        ),
        (
            ora.APIStatusError("odd", status_code=400, code="weird_code"),
            "APIStatusError (status 400, code weird_code): odd",
        ),
        (
            ora.StreamError("Provider disconnected", code=502),
            "StreamError (code 502): Provider disconnected",
        ),
        (ora.APIConnectionError("Connection refused"), "APIConnectionError: Connection refused"),
        (ora.APITimeoutError(kind="idle"), "APITimeoutError: Request timed out"),
        (_common.CLIError("plain words"), "plain words"),
    ],
)
def test_format_error_is_one_line(error: BaseException, line: str) -> None:
    assert _common.format_error(error) == line


def test_error_record() -> None:
    error = ora.AuthenticationError("bad key", status_code=401, generation_id="gen-1")
    assert _common.error_record(error) == {
        "type": "error",
        "error": "AuthenticationError",
        "message": "bad key",
        "status": 401,
        "code": 401,
        "generation_id": "gen-1",
    }


def test_print_error_is_plain_text_when_not_a_terminal() -> None:
    console, buffer = text_console()
    _common.print_error(ora.NotFoundError("no such model", status_code=404), console)
    assert buffer.getvalue() == "NotFoundError (status 404): no such model\n"


@pytest.mark.parametrize(
    ("cost", "text"),
    [(None, "cost n/a"), (0, "$0"), (0.000032, "$0.000032"), (1.25, "$1.25"), (0.5, "$0.5")],
)
def test_format_cost(cost: float | None, text: str) -> None:
    assert _common.format_cost(cost) == text


# -- chat rendering --------------------------------------------------------------------------


def test_event_records_cover_every_event() -> None:
    usage = CompletionUsage(prompt_tokens=3, completion_tokens=4, total_tokens=7, cost=0.5)
    events: list[Any] = [
        ora.TextDelta(text="hi"),
        ora.ReasoningDelta(text="hmm"),
        ora.RefusalDelta(text="no"),
        ora.ToolCallDelta(index=0, id="c1", name="f", arguments=""),
        ora.ToolCallDone(index=0, id="c1", name="f", arguments="{}", choice_index=1),
        ora.Finish(finish_reason="stop"),
        ora.Usage(usage=usage),
        ora.KeepAlive(comment="OPENROUTER PROCESSING"),
        ora.AnnotationsDelta(annotations=({"type": "url_citation"},)),
        ora.ImagesDelta(images=({"type": "image_url"},)),
    ]
    records = [_reply.event_record(e) for e in events]
    assert [r["type"] for r in records] == [
        "text",
        "reasoning",
        "refusal",
        "tool_call_delta",
        "tool_call",
        "finish",
        "usage",
        "keep_alive",
        "annotations",
        "images",
    ]
    assert records[4]["choice_index"] == 1
    assert "choice_index" not in records[0]
    assert records[6] == {
        "type": "usage",
        "prompt_tokens": 3,
        "completion_tokens": 4,
        "total_tokens": 7,
        "cost": 0.5,
    }


def test_terminal_view_separates_thinking_from_the_answer() -> None:
    console, buffer = text_console()
    view = _reply.TerminalView(console)
    for event in (
        ora.KeepAlive(comment="x"),
        ora.ReasoningDelta(text="Thinking"),
        ora.ReasoningDelta(text=" hard."),
        ora.TextDelta(text="The"),
        ora.TextDelta(text=" answer."),
        ora.ToolCallDone(index=0, id="c", name="f", arguments='{"a":1}'),
    ):
        view.event(event)
    view.close()
    assert buffer.getvalue() == 'Thinking hard.\n\nThe answer.\n→ tool call f({"a":1})\n'


def test_stats_line() -> None:
    timing = _reply.Timing()
    timing.saw(ora.KeepAlive(comment="x"))
    assert timing.ttft is None
    timing.saw(ora.TextDelta(text="a"))
    timing.end()
    usage = CompletionUsage(prompt_tokens=5, completion_tokens=2, total_tokens=7, cost=0.000009)
    line = _reply.stats_line(usage, timing, "length")
    assert line.startswith("5 prompt + 2 completion tokens · $0.000009 · first token ")
    assert line.endswith("finish: length")
    empty = _reply.stats_line(None, _reply.Timing(), "stop")
    assert empty.startswith("no usage reported · no tokens")


def test_chat_in_process_keeps_thinking_off_a_piped_stdout(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli.main(["chat", "--emulator", "-m", "emulator/reasoning", "two words"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "two words\n"
    thinking, stats = captured.err.split("\n", 1)
    assert thinking == "The user wrote 2 words. I will repeat them back."
    assert "completion tokens" in stats


def test_chat_thinking_on_stdout_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["chat", "--emulator", "-m", "emulator/reasoning", "--thinking", "stdout", "two words"]
    assert _cli.main(argv) == 0
    captured = capsys.readouterr()
    thinking, answer = captured.out.split("\n\n")
    assert thinking.startswith("The user wrote 2 words.")
    assert answer == "two words\n"
    assert "The user wrote" not in captured.err


def test_chat_thinking_hidden(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["chat", "--emulator", "-m", "emulator/reasoning", "--thinking", "hide", "two words"]
    assert _cli.main(argv) == 0
    captured = capsys.readouterr()
    assert captured.out == "two words\n"
    assert "The user wrote" not in captured.err


def test_thinking_console_follows_the_terminal() -> None:
    piped, _ = text_console()
    terminal = Console(file=io.StringIO(), force_terminal=True)
    assert _reply.thinking_console("auto", terminal) is terminal
    assert _reply.thinking_console("stdout", piped) is piped
    assert _reply.thinking_console("hide", terminal) is False
    auto_piped = _reply.thinking_console("auto", piped)
    assert isinstance(auto_piped, Console) and auto_piped.stderr


def test_terminal_view_sends_thinking_elsewhere() -> None:
    out, out_buffer = text_console()
    err, err_buffer = text_console()
    view = _reply.TerminalView(out, err)
    for event in (
        ora.ReasoningDelta(text="Hmm"),
        ora.TextDelta(text="Yes."),
        ora.ReasoningDelta(text="More"),
    ):
        view.event(event)
    view.close()
    assert out_buffer.getvalue() == "Yes.\n"
    assert err_buffer.getvalue() == "Hmm\nMore\n"


def test_interactive_refuses_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli.main(["chat", "--emulator", "-i", "--json"]) == 2
    assert "--json is for one reply" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", _Stdin("", tty=True))
    assert _cli.main(["chat", "--emulator", "--json"]) == 2  # one reply, but of what?
    assert "No prompt" in capsys.readouterr().err


def test_no_prompt_on_a_terminal_opens_a_conversation(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # input() reads the fake stdin; its isatty() says terminal, so no prompt means converse.
    monkeypatch.setattr("sys.stdin", _Stdin("hello you\n/cost\n", tty=True))
    assert _cli.main(["chat", "--emulator"]) == 0
    captured = capsys.readouterr()
    assert "hello you\n" in captured.out
    assert "Chatting with emulator/echo" in captured.err
    assert captured.err.count("session: 1 reply, ") == 3  # after the reply, /cost, at the end


# -- the conversation's commands ---------------------------------------------------------------


def conversation(*argv: str) -> tuple[Any, io.StringIO]:
    from openrouter_async._cli._interactive import Conversation

    parser, _ = _cli.build_parser("chat")
    err, buffer = text_console()
    out, _ = text_console()
    # The commands never touch the client: none is needed to test them.
    return Conversation(parser.parse_args(["chat", *argv]), None, out=out, err=err), buffer  # type: ignore[arg-type]


def test_conversation_commands_change_what_is_sent() -> None:
    chat_, err = conversation("--emulator", "-s", "first system", "-t", "0.5")
    chat_.messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert chat_.request() == {
        "model": "emulator/echo",
        "messages": [{"role": "system", "content": "first system"}, *chat_.messages],
        "temperature": 0.5,
    }
    assert chat_.command("/model x/y")
    assert chat_.command("/system -")
    assert chat_.request()["model"] == "x/y"
    assert chat_.request()["messages"][0]["role"] == "user"
    assert chat_.command("/system Be kind.")
    assert chat_.command("/reset")
    assert chat_.request()["messages"] == [{"role": "system", "content": "Be kind."}]
    assert chat_.command("/model")
    assert not chat_.command("/exit")
    assert not chat_.command("/QUIT")
    assert err.getvalue().splitlines() == [
        "model: x/y",
        "no system message",
        "system: Be kind.",
        "The conversation is forgotten.",
        "model: x/y",
    ]


def test_conversation_hostile_commands_are_one_line(tmp_path: Any) -> None:
    chat_, err = conversation("--emulator")
    assert chat_.command("/nope")
    assert chat_.command("/save")
    assert chat_.command(f"/save {tmp_path}")  # a directory
    assert err.getvalue().splitlines() == [
        "Unknown command /nope: /help lists the commands.",
        "Usage: /save FILE",
        f"Cannot save to {tmp_path}: Is a directory",
    ]


def test_totals_line() -> None:
    from openrouter_async._cli._interactive import Totals

    totals = Totals()
    assert totals.line() == "session: 0 replies, 0 prompt + 0 completion tokens, $0"
    totals.add(CompletionUsage(prompt_tokens=5, completion_tokens=2, total_tokens=7, cost=0.25))
    totals.add(CompletionUsage(prompt_tokens=1, completion_tokens=1, total_tokens=2, cost=0.5))
    totals.stopped = 1
    assert totals.line() == (
        "session: 2 replies, 6 prompt + 3 completion tokens, $0.75; 1 stopped (not counted)"
    )
    totals.add(None)
    assert "$0.75 (some costs unknown)" in totals.line()


# -- models ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("price", "text"),
    [
        (None, "-"),
        ("-1", "varies"),
        ("0", "free"),
        ("0.6", "$0.60"),
        ("0.075", "$0.075"),
        ("15", "$15.00"),
        ("1234.5", "$1,234.50"),
        ("0.0000001", "<$0.000001"),
    ],
)
def test_format_price(price: str | None, text: str) -> None:
    assert models.format_price(Decimal(price) if price is not None else None) == text


def test_filter_rows() -> None:
    rows = [
        models.ModelRow(id="openai/gpt-4o-mini", name="GPT-4o mini", output_modalities=("text",)),
        models.ModelRow(id="google/gemini-image", name="Nano", output_modalities=("image", "text")),
        models.ModelRow(id="google/gemini-flash", name="Gemini Flash"),
    ]
    ids = lambda found: [r.id for r in found]  # noqa: E731
    assert ids(models.filter_rows(rows, search="GEMINI")) == [
        "google/gemini-image",
        "google/gemini-flash",
    ]
    assert ids(models.filter_rows(rows, search="mini", author="openai")) == ["openai/gpt-4o-mini"]
    assert ids(models.filter_rows(rows, modality="image")) == [
        "google/gemini-image",
        "google/gemini-flash",  # no modality information: not filtered out
    ]
    assert ids(models.filter_rows(rows, limit=1)) == ["openai/gpt-4o-mini"]


def test_models_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["models", "--emulator", "--author", "openai"]) == 0
    out = capsys.readouterr().out
    assert "openai/gpt-4o-mini" in out
    assert "$0.15" in out
    assert "$0.60" in out
    assert "emulator/echo" not in out


def test_models_modality_is_one_of_the_apis(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["models", "--emulator", "--modality", "Text"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert _cli.main(["models", "--emulator", "--modality", "embeddings"]) == 0
    out = capsys.readouterr().out
    assert "emulator/embed" in out
    assert "emulator/echo" not in out


def test_models_nothing_matches(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["models", "--emulator", "-q", "no-such-model-anywhere"]) == 0
    assert "No models match." in capsys.readouterr().out


# -- demo pieces -----------------------------------------------------------------------------


async def test_demo_batch_without_client_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(demo, "_batch_available", lambda: False)
    console, buffer = text_console()
    async with Emulator(api_key=None) as emu, emu.client() as client:
        await demo.concurrent_batch(client, console, n=6, concurrency=3)
    out = buffer.getvalue()
    assert "asyncio.gather + Semaphore" in out
    assert "6 ok, 0 failed" in out


async def test_demo_tool_call_section() -> None:
    console, buffer = text_console()
    async with Emulator(api_key=None) as emu, emu.client() as client:
        await demo.tool_calls(client, console)
    out = buffer.getvalue()
    assert "call started: get_weather" in out
    assert out.count("fragment:") >= 2
    assert "assembled:    get_weather(city='Paris', unit='celsius')" in out
    assert 'final answer: The tool returned: {"city": "Paris"' in out
