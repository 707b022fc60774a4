"""generate_hint against the dev server: validation, one retry, the guard, measurements."""

import asyncio

import openai
import pytest

from feedback.llm import GuardRejected, InvalidAnswer, StreamStalled, generate_hint
from tests.test_llm_prompts import request

MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"


def hint(server, req):
    async def call():
        async with openai.AsyncOpenAI(base_url=server.url, api_key="x", max_retries=0) as client:
            return await generate_hint(client, MODEL, req)

    return asyncio.run(call())


def test_it_returns_a_validated_hint_with_measurements(llm_server):
    result = hint(llm_server, request())
    assert "missing" in result.answer.summary and result.answer.line() == 2
    assert result.model_calls == 1 and result.prompt_tokens > 0 and result.completion_tokens > 0
    assert 0 < result.ttft_seconds <= result.latency_seconds


def test_it_retries_once_on_invalid_output_then_gives_up(llm_server):
    llm_server.faults(invalid_json=1.0)
    with pytest.raises(InvalidAnswer):
        hint(llm_server, request())


def test_it_recovers_when_the_retry_is_valid(llm_server):
    llm_server.faults(invalid_json_next=1)  # the first answer is invalid, the retry is not
    result = hint(llm_server, request())
    assert result.model_calls == 2 and "missing" in result.answer.summary


def test_it_regenerates_then_refuses_a_hint_that_gives_the_solution_away(llm_server):
    template = hint(llm_server, request()).answer.summary  # what this server always answers
    with pytest.raises(GuardRejected, match="reproduces the reference solution"):
        hint(llm_server, request(reference_files={"solution.py": template}))


def test_raw_control_characters_in_strings_are_read_not_refused(llm_server):
    """Structured output may put a raw TAB inside a JSON string: a valid answer, read at once."""
    llm_server.faults(control_chars_next=1)
    result = hint(llm_server, request())
    assert result.model_calls == 1 and result.answer.summary.startswith("\t")


def test_an_answer_cut_by_max_tokens_is_asked_again_with_room(llm_server):
    """finish_reason "length": the same request would be cut the same way; the retry has room."""

    async def call():
        async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x", max_retries=0) as client:
            return await generate_hint(client, MODEL, request(), max_tokens=10)

    result = asyncio.run(call())
    assert result.model_calls == 2 and "missing" in result.answer.summary
    assert result.completion_tokens > 10


def test_a_stream_that_stops_sending_tokens_is_abandoned(llm_server):
    """A dead engine behind a live socket would hold the slot for the whole read timeout."""
    llm_server.faults(stall_next=1, stall_seconds=5)  # after it, the answer would go on and succeed

    async def call():
        async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x", max_retries=0) as client:
            return await generate_hint(client, MODEL, request(), stall_seconds=0.5)

    with pytest.raises(StreamStalled, match="no token for 0.5 s"):
        asyncio.run(call())
