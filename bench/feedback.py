"""Feedback benchmark: 300 hint requests of one assignment against the vLLM-like dev server.

    python -m bench.feedback [--n 300] [--max-num-seqs 16] [--step-ms 2]

Scenarios, each on the same requests (same assignment, 300 different student programs):
  (a) one at a time, (b) an unbounded flood, (c) each fixed concurrency, and (d) the
dispatcher's engine (feedback.dispatcher.run_all: Redis-wide AIMD limit from ceiling 64,
circuit breaker, /metrics watcher), whose retried requests are sent again as the
dispatcher would. Printed per scenario: time to drain, output tokens per second, mean time to
first token; the prefix-cache hit rate from /metrics; and a run of (d) with 10% injected 503s,
which must lose nothing. The dev server's timing model is described in feedback/devserver.py.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import openai
import requests

ROOT = Path(__file__).resolve().parent.parent
MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"


def start_server(max_num_seqs: int, step_ms: float) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "feedback.devserver",
            "--port",
            str(port),
            "--max-num-seqs",
            str(max_num_seqs),
            "--step-ms",
            str(step_ms),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if requests.get(base + "/v1/models", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.1)
    return proc, base


def hint_requests(n: int):
    from feedback.llm import FailingTest, HintRequest

    statement = (
        "Write `search(x, xs)` that returns the index of `x` in the sorted tuple `xs`, or -1.\n"
        "Use binary search. " + "The tuple may be empty; values may repeat. " * 20
    )
    return [
        HintRequest(
            assignment_key="cs101/search",
            statement=statement,
            visible_tests=[f"t{i}: search({i}, (1, 3, 5, 7))" for i in range(6)],
            show_hidden_details=False,
            files={
                "solution.py": f"def search(x, xs):\n    lo, hi = 0, len(xs)  # student {k}\n"
                f"    while lo < hi:\n        mid = (lo + hi) // 2 + {k % 3}\n        return mid\n"
            },
            failing=[FailingTest("missing", True, "failed", "search(4, (1, 3, 5))", "-1", str(k % 7))],
            attempt=1 + k % 3,
        )
        for k in range(n)
    ]


async def fixed(base: str, hint_reqs, concurrency: int | None) -> dict:
    """The same requests at a fixed concurrency (None: all at once)."""
    from feedback.llm import HintResult, _complete, build_messages

    gate = asyncio.Semaphore(concurrency or len(hint_reqs))
    stats = []

    async with openai.AsyncOpenAI(base_url=base + "/v1", api_key="x", max_retries=0, timeout=600) as client:

        async def one(req):
            async with gate:
                result = HintResult(answer=None)
                await _complete(client, MODEL, build_messages(req), 600, result)
                stats.append(result)

        started = time.perf_counter()
        await asyncio.gather(*(one(r) for r in hint_reqs))
        wall = time.perf_counter() - started
    return summary(stats, wall)


def summary(results, wall: float) -> dict:
    tokens = sum(r.completion_tokens for r in results)
    return {
        "drain": wall,
        "tok_s": tokens / wall,
        "ttft": statistics.mean(r.ttft_seconds or 0 for r in results),
        "n": len(results),
    }


async def through_dispatcher(hint_reqs) -> tuple[dict, int]:
    """feedback.dispatcher.run_all, sending again what it asks to retry (as the dispatcher does)."""
    from feedback import dispatcher

    pending, done, started = list(hint_reqs), [], time.perf_counter()
    while pending and time.perf_counter() - started < 600:
        outcomes = await dispatcher.run_all(pending)
        done += [o.result for o in outcomes if o.kind == "llm"]
        pending = [r for r, o in zip(pending, outcomes, strict=True) if o.kind == "retry"]
        if pending:
            await asyncio.sleep(0.5)  # the dispatcher's backoff, shortened
    return summary(done, time.perf_counter() - started), len(pending)


def configure(base: str) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="grader.settings",
        LLM_BASE_URL=base + "/v1",
        LLM_MAX_IN_FLIGHT="64",
        LLM_MIN_IN_FLIGHT="1",
        LLM_REDIS_URL="redis://127.0.0.1:6379/13",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    import redis

    redis.Redis.from_url(os.environ["LLM_REDIS_URL"]).flushdb()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--max-num-seqs", type=int, default=16)
    parser.add_argument("--step-ms", type=float, default=2.0)
    args = parser.parse_args(argv)
    proc, base = start_server(args.max_num_seqs, args.step_ms)
    try:
        configure(base)
        reqs = hint_requests(args.n)
        rows = [
            ("(a) one at a time", asyncio.run(fixed(base, reqs, 1))),
            ("(b) unbounded flood", asyncio.run(fixed(base, reqs, None))),
        ]
        for c in (2, 4, 8, 12, 16, 20, 24, 32):
            rows.append((f"(c) fixed concurrency {c}", asyncio.run(fixed(base, reqs, c))))
        hits_before = _cache(base)
        result, lost = asyncio.run(through_dispatcher(reqs))
        hits_after = _cache(base)
        rows.append(("(d) dispatcher (adaptive)", result))
        requests.post(base + "/admin/faults", json={"fail_503": 0.1}, timeout=5)
        faulty, lost_faulty = asyncio.run(through_dispatcher(reqs))
        rows.append(("(d) dispatcher, 10% 503s", faulty))
    finally:
        proc.terminate()
    print(
        f"feedback benchmark: {args.n} hint requests of one assignment; dev server max_num_seqs="
        f"{args.max_num_seqs}, decode step {args.step_ms} ms (grows with the batch)"
    )
    print(f"{'scenario':<30}{'drain s':>9}{'output tok/s':>14}{'mean TTFT s':>13}{'answered':>10}")
    for label, row in rows:
        print(f"{label:<30}{row['drain']:>9.1f}{row['tok_s']:>14.0f}{row['ttft']:>13.2f}{row['n']:>10}")
    best_label, best = max(
        ((label, r) for label, r in rows if label.startswith("(c)")), key=lambda x: x[1]["tok_s"]
    )
    print(
        f"best fixed: {best_label}; dispatcher / best fixed = {result['tok_s'] / best['tok_s']:.2f} (target >= 0.90); "
        f"dispatcher / one at a time = {result['tok_s'] / rows[0][1]['tok_s']:.1f}x (target >= 5x)"
    )
    queries, hits = (a - b for a, b in zip(hits_after, hits_before, strict=True))
    print(
        f"prefix cache during the dispatcher run: {hits / max(queries, 1):.0%} of prompt tokens served from cache"
    )
    print(
        f"lost requests: {lost} (clean run), {lost_faulty} (10% 503s); every request answered: "
        f"{result['n'] == args.n and faulty['n'] == args.n}"
    )
    return 0


def _cache(base: str) -> tuple[float, float]:
    text = requests.get(base + "/metrics", timeout=5).text
    values = {
        line.split("{")[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("vllm:prefix_cache")
    }
    return values["vllm:prefix_cache_queries_total"], values["vllm:prefix_cache_hits_total"]


if __name__ == "__main__":
    sys.exit(main())
