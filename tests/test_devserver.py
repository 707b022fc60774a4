"""The vLLM-like dev server, through the real openai client over HTTP."""

import asyncio
import json

import openai
import pytest

from feedback.llm import RESPONSE_FORMAT, HintAnswer

MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"
MESSAGES = [
    {"role": "system", "content": "You help students. " * 60},
    {"role": "user", "content": "Test “empty list” failed: raised IndexError at line 7"},
]


def run(coro):
    return asyncio.run(coro)


async def client_call(server, **kw):
    async with openai.AsyncOpenAI(base_url=server.url, api_key="x", max_retries=0) as client:
        return await client.chat.completions.create(model=MODEL, messages=MESSAGES, **kw)


def test_it_lists_its_model(llm_server):
    async def models():
        async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x") as client:
            return [m.id for m in (await client.models.list()).data]

    assert run(models()) == [MODEL]


def test_it_answers_schema_valid_json_with_usage(llm_server):
    response = run(client_call(llm_server, response_format=RESPONSE_FORMAT))
    answer = HintAnswer.model_validate_json(response.choices[0].message.content)
    assert answer.line() == 7 and "empty list" in answer.summary
    assert response.usage.prompt_tokens > 0 and response.usage.completion_tokens > 0


def test_it_serves_repeated_prefixes_from_its_cache(llm_server):
    run(client_call(llm_server))
    again = run(client_call(llm_server))
    assert again.usage.prompt_tokens_details.cached_tokens >= again.usage.prompt_tokens - 16
    metrics = llm_server.metrics()
    assert metrics["vllm:prefix_cache_hits_total"] > 0
    assert metrics["vllm:prefix_cache_queries_total"] >= metrics["vllm:prefix_cache_hits_total"]


def test_it_streams_and_answers_n_choices(llm_server):
    async def stream():
        async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x") as client:
            chunks = await client.chat.completions.create(
                model=MODEL, messages=MESSAGES, stream=True, n=2, stream_options={"include_usage": True}
            )
            texts, usage = {0: "", 1: ""}, None
            async for chunk in chunks:
                for choice in chunk.choices:
                    texts[choice.index] += choice.delta.content or ""
                usage = chunk.usage or usage
            return texts, usage

    texts, usage = run(stream())
    assert texts[0] and texts[0] == texts[1]
    assert usage.completion_tokens == 2 * len(texts[0].split())


def test_it_exposes_vllm_metrics(llm_server):
    run(client_call(llm_server))
    metrics = llm_server.metrics()
    for name in (
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:time_to_first_token_seconds_count",
        "vllm:prompt_tokens_total",
        "vllm:generation_tokens_total",
    ):
        assert name in metrics
    assert metrics["vllm:time_to_first_token_seconds_count"] >= 1


def test_requests_beyond_max_num_seqs_wait(llm_server):
    """Like vLLM's scheduler: at most max_num_seqs (8) run at once, the rest wait. Sampled in a
    thread (the metrics call must not block the loop that sends the requests); on a busy machine
    early requests may finish before the last arrive, so the peaks are what is checked."""

    async def flood():
        async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x", max_retries=0) as client:
            calls = [client.chat.completions.create(model=MODEL, messages=MESSAGES) for _ in range(20)]
            task = asyncio.gather(*calls)
            samples = []
            while not task.done():
                samples.append(await asyncio.to_thread(llm_server.metrics))
            return await task, samples

    answers, samples = run(flood())
    assert len(answers) == 20 and all(a.choices[0].message.content for a in answers)
    running = [m["vllm:num_requests_running"] for m in samples]
    waiting = [m["vllm:num_requests_waiting"] for m in samples]
    assert max(running) == 8, running
    assert max(waiting) >= 1, waiting


@pytest.mark.parametrize(
    "fault, error",
    [
        ("fail_429", openai.RateLimitError),
        ("fail_503", openai.InternalServerError),
        ("drop", openai.APIConnectionError),
    ],
)
def test_it_injects_faults(llm_server, fault, error):
    llm_server.faults(**{fault: 1.0})
    with pytest.raises(error):
        run(client_call(llm_server))


def test_it_can_answer_invalid_json(llm_server):
    llm_server.faults(invalid_json=1.0)
    response = run(client_call(llm_server, response_format=RESPONSE_FORMAT))
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.choices[0].message.content)
