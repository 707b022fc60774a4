"""A local OpenAI-compatible server that behaves like vLLM, for demos, tests and benchmarks.

    python -m feedback.devserver [--port 8100] [--max-num-seqs 16] [--model NAME]
                                 [--fail-429 0.0] [--fail-503 0.0] [--slow 0.0] [--drop 0.0]
                                 [--invalid-json 0.0]

Endpoints: GET /v1/models (with ``max_model_len``); POST /v1/chat/completions (streaming or
not, ``n``, ``usage`` with cached prompt tokens, ``response_format`` json_schema answered with
schema-valid JSON; 404 for another model's name and 400 past the context length, as vLLM);
POST /tokenize; GET /metrics (vLLM's Prometheus names); GET/POST /admin/faults (change fault
rates live); GET/POST /admin/config (``max_model_len``, ``model``, ``scheduling_policy``).

Timing model (continuous batching): an engine loop runs decode steps; every running request
gets one token per step; a step takes ``step_ms * (1 + step_growth * running / max_num_seqs)``,
so throughput grows with the batch until ``max_num_seqs``, beyond which requests wait. A
request admitted to the batch first pays prefill, ``prefill_ms_per_token`` for every prompt
token not found in the block-wise prefix cache (16-token blocks, chained hashes, LRU).
The hint text is a template built from the prompt: this server exercises the platform, it
does not understand code.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import hashlib
import json
import random
import re
import time
import uuid
from dataclasses import dataclass, field

from aiohttp import web

TOKEN = re.compile(r"\w+|[^\w\s]")
BLOCK = 16


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text)


@dataclass
class Faults:
    fail_429: float = 0.0
    fail_503: float = 0.0
    slow: float = 0.0  # probability of an extra delay
    slow_seconds: float = 2.0
    drop: float = 0.0  # probability of closing the connection without an answer
    invalid_json: float = 0.0  # probability of answering text that is not the requested JSON
    invalid_json_next: float = 0.0  # this many next JSON answers are invalid (deterministic)
    # vLLM reports some engine failures inside a 200 stream, as a `data: {"error": ...}` event.
    stream_error: float = 0.0  # probability of such an event after the first token
    stream_error_next: float = 0.0  # this many next streams end that way (deterministic)
    # Structured output may hold raw control characters (a TAB) inside strings, as vLLM's can.
    control_chars: float = 0.0
    control_chars_next: float = 0.0
    # A stream that stops sending tokens without closing (a dead engine behind a live socket).
    stall_next: float = 0.0
    stall_seconds: float = 30.0


@dataclass
class Config:
    model: str = "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"
    max_num_seqs: int = 16
    step_ms: float = 20.0
    step_growth: float = 0.5
    prefill_ms_per_token: float = 0.05
    cache_blocks: int = 4096
    max_model_len: int = 32768
    # vLLM's --scheduling-policy: "fcfs" refuses a non-zero priority; "priority" admits the
    # waiting request with the lowest priority value first.
    scheduling_policy: str = "fcfs"
    faults: Faults = field(default_factory=Faults)


class PrefixCache:
    """Block-wise prefix cache: a prompt's blocks hit while their chained hashes are cached."""

    def __init__(self, capacity: int):
        self.capacity, self.blocks = capacity, collections.OrderedDict()
        self.queries = self.hits = 0

    def lookup(self, tokens: list[str]) -> int:
        """Number of prompt tokens served from the cache; caches the prompt's full blocks."""
        chain, cached, missed = b"", 0, False
        full = len(tokens) - len(tokens) % BLOCK
        for start in range(0, full, BLOCK):
            chain = hashlib.blake2b(
                chain + "\x00".join(tokens[start : start + BLOCK]).encode(), digest_size=16
            ).digest()
            if not missed and chain in self.blocks:
                cached += BLOCK
                self.blocks.move_to_end(chain)
            else:
                missed = True
                self.blocks[chain] = True
                if len(self.blocks) > self.capacity:
                    self.blocks.popitem(last=False)
        self.queries += len(tokens)
        self.hits += cached
        return cached


@dataclass
class Sequence:
    prompt_tokens: int
    cached_tokens: int
    completion: list[str]
    arrived: float
    priority: int = 0
    produced: int = 0
    ready_at: float = 0.0  # after prefill
    done: asyncio.Event = field(default_factory=asyncio.Event)
    progress: asyncio.Queue = field(default_factory=asyncio.Queue)


class Engine:
    """Continuous batching over asyncio: admits waiting sequences up to max_num_seqs."""

    def __init__(self, config: Config):
        self.config = config
        self.cache = PrefixCache(config.cache_blocks)
        self.waiting: collections.deque[Sequence] = collections.deque()
        self.running: list[Sequence] = []
        self.wakeup = asyncio.Event()
        self.ttft: list[float] = []
        self.e2e: list[float] = []
        self.prompt_total = self.generation_total = 0
        self.priorities: collections.Counter[int] = collections.Counter()  # requests seen, by priority

    def submit(self, prompt: str, completion: list[str], priority: int = 0) -> Sequence:
        tokens = tokenize(prompt)
        cached = self.cache.lookup(tokens)
        seq = Sequence(len(tokens), cached, completion, time.monotonic(), priority)
        self.priorities[priority] += 1
        self.waiting.append(seq)
        self.prompt_total += len(tokens)
        self.wakeup.set()
        return seq

    async def run(self) -> None:
        cfg = self.config
        while True:
            if not self.waiting and not self.running:
                self.wakeup.clear()
                await self.wakeup.wait()
            now = time.monotonic()
            while self.waiting and len(self.running) < cfg.max_num_seqs:
                if cfg.scheduling_policy == "priority":
                    seq = min(self.waiting, key=lambda s: (s.priority, s.arrived))
                    self.waiting.remove(seq)
                else:
                    seq = self.waiting.popleft()
                seq.ready_at = now + (seq.prompt_tokens - seq.cached_tokens) * cfg.prefill_ms_per_token / 1000
                self.running.append(seq)
            step = cfg.step_ms / 1000 * (1 + cfg.step_growth * len(self.running) / cfg.max_num_seqs)
            await asyncio.sleep(step)
            now = time.monotonic()
            for seq in list(self.running):
                if now < seq.ready_at:
                    continue
                if seq.produced == 0:
                    self.ttft.append(now - seq.arrived)
                seq.progress.put_nowait(seq.completion[seq.produced])
                seq.produced += 1
                self.generation_total += 1
                if seq.produced >= len(seq.completion):
                    self.running.remove(seq)
                    self.e2e.append(now - seq.arrived)
                    seq.done.set()


# -- answers ----------------------------------------------------------------------------------
def fill_schema(schema: dict, prompt: str, defs: dict | None = None):
    """A value valid for ``schema`` (the subset JSON schemas from pydantic use), from the prompt."""
    defs = defs if defs is not None else schema.get("$defs", {})
    if "$ref" in schema:
        return fill_schema(defs[schema["$ref"].split("/")[-1]], prompt, defs)
    if "anyOf" in schema:
        return fill_schema(next(s for s in schema["anyOf"] if s.get("type") != "null"), prompt, defs)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _field(name, sub, prompt, defs) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [
            fill_schema(schema.get("items", {}), prompt, defs)
            for _ in range(max(1, schema.get("minItems", 1)))
        ]
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return float(schema.get("minimum", 0.5)) if "minimum" in schema else 0.5
    if kind == "boolean":
        return False
    return "ok"


def _field(name: str, schema: dict, prompt: str, defs: dict):
    kind = schema.get("type")
    failing = re.search(r"Test[^\n]*?[\"“]([^\"”\n]+)[\"”]", prompt)
    test = failing.group(1) if failing else "the failing test"
    if name == "line" and kind in ("integer", None):
        lines = re.findall(r"line (\d+)", prompt)
        return int(lines[-1]) if lines else 1
    variant = re.search(r"<candidate (\d+)>$", prompt)
    take = int(variant.group(1)) if variant else 0
    if name in ("text", "hint", "summary") and kind == "string":
        return (
            f"Look at what your code does for {test}: compare the value it returns with what the test "
            f"expects, and trace the variables by hand on that input. Check the boundary cases, such as "
            f"an empty input or the first and last positions." + (f" (Take {take + 1}.)" if take else "")
        )
    if name == "scores" and kind == "array":  # a critic: it prefers later hints (deterministic)
        count = len(re.findall(r"^## Hint \d+$", prompt, re.M)) or 1
        return [min(10, i) for i in range(1, count + 1)]
    if name == "rubric" and kind == "array":
        items = re.findall(r"^- (.+?) \(max ([0-9.]+)\):", prompt, re.M)
        return [
            {"item": item, "points": float(top) / 2, "justification": "Partly met: see the hints."}
            for item, top in items
        ]
    if name == "code" and kind == "string":  # a "repair": this server cannot fix code, it echoes it
        lines = re.findall(r"^ *\d+ \| ?(.*)$", prompt, re.M)
        return "\n".join(lines) + "\n" if lines else "pass\n"
    if name == "concept" and kind == "string":
        return "boundary conditions"
    if name == "confidence" and kind == "number":
        return round(0.6 - 0.1 * take, 2)
    return fill_schema(schema, prompt, defs)


def answer_text(body: dict, prompt: str, faults: Faults) -> str:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        if faults.invalid_json_next >= 1 or random.random() < faults.invalid_json:
            faults.invalid_json_next = max(0.0, faults.invalid_json_next - 1)
            return '{"summary": "truncated'
        text = json.dumps(fill_schema(fmt["json_schema"]["schema"], prompt))
        if faults.control_chars_next >= 1 or random.random() < faults.control_chars:
            faults.control_chars_next = max(0.0, faults.control_chars_next - 1)
            text = text.replace('": "', '": "\t', 1)  # a raw TAB: valid for lenient parsers only
        return text
    if fmt.get("type") == "json_object":
        return json.dumps({"hint": fill_schema({"type": "string"}, prompt)})
    return "Trace your code by hand on the failing test's input and compare each step with what you expect."


def completion_tokens(text: str, max_tokens: int | None) -> list[str]:
    """Split the answer into pieces that concatenate back to it (one per decode step)."""
    pieces = re.findall(r"\s*\S+", text) or [text]
    return pieces[: max_tokens or len(pieces)]


# -- HTTP -------------------------------------------------------------------------------------
def prompt_of(messages: list[dict]) -> str:
    return "\n".join(f"<|{m.get('role')}|>\n{_content(m.get('content'))}" for m in messages)


def _content(content) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def error(status: int, message: str, kind: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": kind, "code": status}}, status=status)


async def chat_completions(request: web.Request) -> web.StreamResponse:
    engine: Engine = request.app["engine"]
    cfg = engine.config
    faults = cfg.faults
    try:
        body = await request.json()
        messages = body["messages"]
    except (ValueError, KeyError, TypeError):
        return error(400, "the body must be JSON with a 'messages' list", "BadRequestError")
    if body.get("model") not in (cfg.model, None):
        return error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
    roll = random.random()
    if roll < faults.fail_429:
        return error(429, "Too many requests", "RateLimitError")
    if roll < faults.fail_429 + faults.fail_503:
        return error(503, "Service unavailable", "ServiceUnavailableError")
    if random.random() < faults.drop:
        request.transport.close()
        raise ConnectionResetError("dropped by fault injection")
    if random.random() < faults.slow:
        await asyncio.sleep(faults.slow_seconds)
    prompt = prompt_of(messages)
    prompt_length = len(tokenize(prompt))
    asked = int(body.get("max_tokens") or body.get("max_completion_tokens") or 0)
    if prompt_length + asked > cfg.max_model_len:  # vLLM checks the request before it queues it
        return error(
            400,
            f"This model's maximum context length is {cfg.max_model_len} tokens. However, you requested "
            f"{prompt_length + asked} tokens ({prompt_length} in the messages, {asked} in the completion). "
            "Please reduce the length of the messages or completion.",
            "BadRequestError",
        )
    priority = int(body.get("priority") or 0)
    if priority and cfg.scheduling_policy != "priority":  # as vLLM answers
        return error(400, "Priority scheduling is not enabled.", "BadRequestError")
    n = int(body.get("n") or 1)
    # Several candidates (``n``) differ, as sampled answers do.
    texts = [answer_text(body, prompt + (f"\n<candidate {i}>" if i else ""), faults) for i in range(n)]
    pieces = [completion_tokens(t, body.get("max_tokens")) for t in texts]
    # Like vLLM: "length" when max_tokens cut the answer short.
    finish = [
        "length" if len(p) < len(completion_tokens(t, None)) else "stop"
        for p, t in zip(pieces, texts, strict=True)
    ]
    seqs = [engine.submit(prompt, p, priority) for p in pieces]
    created, rid = int(time.time()), f"chatcmpl-{uuid.uuid4().hex}"
    usage = {
        "prompt_tokens": seqs[0].prompt_tokens,
        "completion_tokens": sum(len(s.completion) for s in seqs),
        "total_tokens": seqs[0].prompt_tokens + sum(len(s.completion) for s in seqs),
        "prompt_tokens_details": {"cached_tokens": seqs[0].cached_tokens},
    }
    if body.get("stream"):
        broken = faults.stream_error_next >= 1 or random.random() < faults.stream_error
        faults.stream_error_next = (
            max(0.0, faults.stream_error_next - 1) if broken else faults.stream_error_next
        )
        stall = faults.stall_seconds if faults.stall_next >= 1 else 0.0
        faults.stall_next = max(0.0, faults.stall_next - 1)
        return await _stream(request, body, seqs, rid, created, usage, broken, finish, stall)
    await asyncio.gather(*(s.done.wait() for s in seqs))
    choices = [
        {
            "index": i,
            "message": {"role": "assistant", "content": "".join(s.completion)},
            "finish_reason": finish[i],
            "logprobs": None,
        }
        for i, s in enumerate(seqs)
    ]
    return web.json_response(
        {
            "id": rid,
            "object": "chat.completion",
            "created": created,
            "model": cfg.model,
            "choices": choices,
            "usage": usage,
        }
    )


async def _stream(
    request,
    body,
    seqs,
    rid,
    created,
    usage,
    broken: bool = False,
    finish: list[str] | None = None,
    stall: float = 0.0,
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    model = request.app["engine"].config.model

    async def send(payload: dict) -> None:
        await response.write(f"data: {json.dumps(payload)}\n\n".encode())

    base = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model}
    for index, seq in enumerate(seqs):
        await send(
            {
                **base,
                "choices": [
                    {"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
                ],
            }
        )
        for _ in range(len(seq.completion)):
            piece = await seq.progress.get()
            await send(
                {**base, "choices": [{"index": index, "delta": {"content": piece}, "finish_reason": None}]}
            )
            if stall:  # the first token arrived; then nothing more, and the socket stays open
                await asyncio.sleep(stall)
                stall = 0.0
            if broken:  # as vLLM does when the engine fails mid-request: an error event, then the end
                await send(
                    {
                        "error": {
                            "message": "EngineCore encountered an issue",
                            "type": "InternalServerError",
                            "code": 500,
                        }
                    }
                )
                await response.write(b"data: [DONE]\n\n")
                await response.write_eof()
                return response
        reason = finish[index] if finish else "stop"
        await send({**base, "choices": [{"index": index, "delta": {}, "finish_reason": reason}]})
    if (body.get("stream_options") or {}).get("include_usage"):
        await send({**base, "choices": [], "usage": usage})
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def models(request: web.Request) -> web.Response:
    cfg = request.app["engine"].config
    return web.json_response(
        {
            "object": "list",
            "data": [
                {"id": cfg.model, "object": "model", "owned_by": "vllm", "max_model_len": cfg.max_model_len}
            ],
        }
    )


BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0)


async def metrics(request: web.Request) -> web.Response:
    engine: Engine = request.app["engine"]
    label = f'model_name="{engine.config.model}"'
    lines = [
        "# TYPE vllm:num_requests_running gauge",
        f"vllm:num_requests_running{{{label}}} {len(engine.running)}",
        "# TYPE vllm:num_requests_waiting gauge",
        f"vllm:num_requests_waiting{{{label}}} {len(engine.waiting)}",
        "# TYPE vllm:prefix_cache_queries_total counter",
        f"vllm:prefix_cache_queries_total{{{label}}} {engine.cache.queries}",
        "# TYPE vllm:prefix_cache_hits_total counter",
        f"vllm:prefix_cache_hits_total{{{label}}} {engine.cache.hits}",
        "# TYPE vllm:prompt_tokens_total counter",
        f"vllm:prompt_tokens_total{{{label}}} {engine.prompt_total}",
        "# TYPE vllm:generation_tokens_total counter",
        f"vllm:generation_tokens_total{{{label}}} {engine.generation_total}",
        "# TYPE vllm:request_success_total counter",
        f"vllm:request_success_total{{{label}}} {len(engine.e2e)}",
        "# TYPE process_resident_memory_bytes gauge",
        f"process_resident_memory_bytes {_rss_bytes()}",
    ]
    for name, values in (
        ("vllm:time_to_first_token_seconds", engine.ttft),
        ("vllm:e2e_request_latency_seconds", engine.e2e),
    ):
        lines.append(f"# TYPE {name} histogram")
        for bound in BUCKETS:
            lines.append(f'{name}_bucket{{{label},le="{bound}"}} {sum(1 for v in values if v <= bound)}')
        lines += [
            f'{name}_bucket{{{label},le="+Inf"}} {len(values)}',
            f"{name}_sum{{{label}}} {sum(values):.6f}",
            f"{name}_count{{{label}}} {len(values)}",
        ]
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


def _rss_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    except (OSError, StopIteration, ValueError):
        return 0


async def faults_view(request: web.Request) -> web.Response:
    faults: Faults = request.app["engine"].config.faults
    if request.method == "POST":
        changes = await request.json()
        for name, value in changes.items():
            if not hasattr(faults, name):
                return error(400, f"unknown fault {name!r}", "BadRequestError")
            setattr(faults, name, float(value))
    return web.json_response(faults.__dict__)


async def tokenize_view(request: web.Request) -> web.Response:
    """vLLM's POST /tokenize: the prompt's tokens with the chat template applied."""
    cfg = request.app["engine"].config
    try:
        body = await request.json()
        text = prompt_of(body["messages"]) if "messages" in body else str(body["prompt"])
    except (ValueError, KeyError, TypeError):
        return error(400, "the body must be JSON with 'messages' or 'prompt'", "BadRequestError")
    if body.get("model") not in (cfg.model, None):
        return error(404, f"The model `{body.get('model')}` does not exist.", "NotFoundError")
    tokens = tokenize(text)
    return web.json_response(
        {
            "count": len(tokens),
            "max_model_len": cfg.max_model_len,
            "tokens": [int.from_bytes(hashlib.blake2b(t.encode(), digest_size=2).digest()) for t in tokens],
        }
    )


async def config_view(request: web.Request) -> web.Response:
    cfg: Config = request.app["engine"].config
    if request.method == "POST":
        changes = await request.json()
        for name, value in changes.items():
            if name not in ("max_model_len", "model", "scheduling_policy"):
                return error(400, f"unknown setting {name!r}", "BadRequestError")
            setattr(cfg, name, int(value) if name == "max_model_len" else str(value))
    engine: Engine = request.app["engine"]
    return web.json_response(
        {
            "max_model_len": cfg.max_model_len,
            "model": cfg.model,
            "scheduling_policy": cfg.scheduling_policy,
            "priorities_seen": {str(k): v for k, v in sorted(engine.priorities.items())},
        }
    )


def make_app(config: Config) -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app["engine"] = Engine(config)

    async def start_engine(app):
        app["engine_task"] = asyncio.create_task(app["engine"].run())
        yield
        app["engine_task"].cancel()

    app.cleanup_ctx.append(start_engine)
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/tokenize", tokenize_view)
    app.router.add_get("/metrics", metrics)
    app.router.add_route("*", "/admin/faults", faults_view)
    app.router.add_route("*", "/admin/config", config_view)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--model", default=Config.model)
    parser.add_argument("--max-num-seqs", type=int, default=16)
    parser.add_argument("--step-ms", type=float, default=20.0)
    parser.add_argument("--max-model-len", type=int, default=Config.max_model_len)
    parser.add_argument("--scheduling-policy", choices=("fcfs", "priority"), default="fcfs")
    for name in ("fail-429", "fail-503", "slow", "drop", "invalid-json"):
        parser.add_argument(f"--{name}", type=float, default=0.0, help="probability per request")
    args = parser.parse_args(argv)
    faults = Faults(
        fail_429=args.fail_429,
        fail_503=args.fail_503,
        slow=args.slow,
        drop=args.drop,
        invalid_json=args.invalid_json,
    )
    config = Config(
        model=args.model,
        max_num_seqs=args.max_num_seqs,
        step_ms=args.step_ms,
        max_model_len=args.max_model_len,
        scheduling_policy=args.scheduling_policy,
        faults=faults,
    )
    web.run_app(
        make_app(config),
        host=args.host,
        port=args.port,
        print=lambda *a: print(
            f"vLLM-like dev server for {config.model} on http://{args.host}:{args.port}/v1", flush=True
        ),
    )


if __name__ == "__main__":
    main()
