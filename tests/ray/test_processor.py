"""``ChatProcessor`` called directly on batches (no cluster: the same code a Ray actor runs),
and ``completed_ids`` on Parquet files. Fast; the cluster behaviour is in the other files."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from openrouter_async import ClientState
from openrouter_async.ray import RESULT_COLUMNS, ChatProcessor, ResumeWarning, completed_ids
from openrouter_async.testing import Emulator


def processor(emu: Emulator, **options: object) -> ChatProcessor:
    return ChatProcessor(api_key="test-key", base_url=emu.base_url, **options)  # type: ignore[arg-type]


async def test_messages_system_defaults_and_prefix(openrouter_emulator: Emulator) -> None:
    table = pa.table(
        {
            "id": [1, 2],
            # Arrow gives both messages every struct field; the absent ones come back as None
            "messages": [
                [{"role": "user", "content": "hi", "name": None}],
                [{"role": "user", "content": "there", "name": "ann"}],
            ],
            "content": ["an input column named like a result", "x"],
        }
    )
    chat = processor(
        openrouter_emulator, model="emulator/echo", defaults={"max_tokens": 7}, prefix="llm_"
    )
    try:
        out = await chat(table)
    finally:
        await chat.aclose()
    assert isinstance(out, pa.Table)
    assert out.column_names == ["id", "messages", "content"] + [
        "llm_" + name for name, _ in RESULT_COLUMNS
    ]
    assert out["llm_content"].to_pylist() == ["hi", "there"]
    assert out["llm_error_type"].to_pylist() == [None, None]
    sent = [r.body for r in openrouter_emulator.requests]
    assert [b["max_tokens"] for b in sent] == [7, 7]
    assert sent[0]["messages"] == [{"role": "user", "content": "hi"}]
    assert sent[1]["messages"][0]["name"] == "ann"


async def test_pandas_in_pandas_out_with_a_system_prompt(openrouter_emulator: Emulator) -> None:
    frame = pd.DataFrame({"prompt": ["a", "b"], "model": ["emulator/echo", None]})
    chat = processor(openrouter_emulator, model="emulator/lorem", system="Be brief.")
    try:
        out = await chat(frame)
    finally:
        await chat.aclose()
    assert isinstance(out, pd.DataFrame)
    assert out["content"].iloc[0] == "a"  # the row's model column wins
    models = [r.body["model"] for r in openrouter_emulator.requests]
    assert models == ["emulator/echo", "emulator/lorem"]
    assert openrouter_emulator.requests[0].body["messages"][0] == {
        "role": "system",
        "content": "Be brief.",
    }


async def test_a_failing_request_fn_is_that_rows_error(openrouter_emulator: Emulator) -> None:
    def request_fn(row: dict[str, object]) -> dict[str, object]:
        if row["n"] == 1:
            raise KeyError("missing")
        if row["n"] == 2:
            return {"model": "emulator/echo", "messages": [{"role": "robot", "content": "?"}]}
        return {"model": "emulator/echo", "messages": [{"role": "user", "content": "ok"}]}

    chat = processor(openrouter_emulator, request_fn=request_fn)
    try:
        out = (await chat(pa.table({"n": [0, 1, 2]}))).to_pylist()
    finally:
        await chat.aclose()
    assert [r["error_type"] for r in out] == [None, "KeyError", "RequestValidationError"]
    assert [r["attempts"] for r in out] == [1, 0, 0]
    assert "role" in out[2]["error_message"]
    assert len(openrouter_emulator.requests) == 1


async def test_mistakes_about_every_row_raise(openrouter_emulator: Emulator) -> None:
    chat = processor(openrouter_emulator)
    with pytest.raises(ValueError, match="prompt"):
        await chat(pa.table({"text": ["no prompt column"]}))
    with pytest.raises(ValueError, match="prefix"):
        await chat(pa.table({"prompt": ["x"], "cost": [1.0]}))
    with pytest.raises(TypeError, match="pyarrow"):
        await chat({"prompt": ["a numpy batch"]})
    with pytest.raises(ValueError):
        ChatProcessor(concurrency=0)
    assert "sk-secret" not in repr(ChatProcessor(api_key="sk-secret"))
    await chat.aclose()


def test_completed_ids_reads_every_file_and_skips_a_torn_one(tmp_path: Path) -> None:
    assert len(completed_ids(str(tmp_path / "nothing yet"))) == 0
    pq.write_table(
        pa.table({"id": ["a", "b"], "error_type": [None, "RateLimitError"]}),
        tmp_path / "one.parquet",
    )
    pq.write_table(
        pa.table({"id": ["c", "b"], "error_type": [None, None]}), tmp_path / "two.parquet"
    )
    (tmp_path / "torn.parquet").write_bytes(b"PAR1 cut short")
    with pytest.warns(ResumeWarning, match="torn.parquet"):
        assert sorted(completed_ids(str(tmp_path)).to_pylist()) == ["a", "b", "c"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResumeWarning)
        retry = completed_ids(str(tmp_path), retry_errors=True).to_pylist()
    assert sorted(retry) == ["a", "b", "c"]  # b was answered in the second file
    (tmp_path / "two.parquet").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResumeWarning)
        assert completed_ids(str(tmp_path), retry_errors=True).to_pylist() == ["a"]


def test_dropping_the_processor_closes_its_client_on_its_loop() -> None:
    """What Ray Data does when it retires an actor gracefully: the UDF object is deleted from
    another thread while its event loop still runs."""
    import asyncio
    import gc

    from ray_helpers import ThreadedEmulator

    threaded = ThreadedEmulator()
    try:
        chat = ChatProcessor(
            api_key="test-key", base_url=threaded.emu.base_url, model="emulator/echo"
        )
        future = asyncio.run_coroutine_threadsafe(chat(pa.table({"prompt": ["x"]})), threaded.loop)
        assert future.result(10)["content"].to_pylist() == ["x"]
        client = chat._client
        assert client is not None
        del chat
        gc.collect()
        assert client.state is ClientState.CLOSED
    finally:
        threaded.close()
