"""Feedback benchmark: hint requests, against the dev server or any server.

    python -m bench.feedback [--n 300] [--assignments 8] [--replicas 2] [--max-num-seqs 16]   # dev server
    python -m bench.feedback --base-url http://127.0.0.1:8100/v1 --model NAME \\
        [--base-urls http://127.0.0.1:8100/v1,http://127.0.0.1:8101/v1] \\
        [--n 32] [--concurrency 1,4,8,16] [--answer-tokens 48 --max-answer-tokens 96]

Scenarios, each on the same requests (n different student programs over ``--assignments``
assignments), each with the same retry policy (feedback.llm.generate_hint: an invalid answer
asked once more, an answer cut by max_tokens asked again with more room, the guard's one
regeneration; a server error sent again after a short pause, as the dispatcher does):
(a) one at a time, (b) all at once, (c) each fixed concurrency, (d) the dispatcher's engine
(feedback.dispatcher.run_all: the Redis-wide AIMD limit, the circuit breaker, the /metrics
watcher, prompts fitted to the server's context window) and (e) the dispatcher over several
replicas (``--replicas`` fresh dev servers, or ``--base-urls``), routed by rendezvous hashing of
the assignment. Printed per scenario: time to drain, output tokens per second (every call's
tokens, whether the answer became a model hint or the automatic one), mean time to first token,
requests answered (a final hint: the model's or, for an unusable answer, the automatic one) and
model hints among them; the prefix-cache hit rate from /metrics, for (e) summed over the
replicas; the dispatcher's ratios to the best fixed concurrency. Against the dev server, a run
of (d) with 10% injected 503s must lose nothing.

The benchmark's limiters and breakers are the dispatcher's keys for those servers (in
LLM_REDIS_URL, default the broker); it resets those keys and nothing else.
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

import requests

ROOT = Path(__file__).resolve().parent.parent
DEV_MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"


def start_dev_server(max_num_seqs: int, step_ms: float) -> tuple[subprocess.Popen, str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "feedback.devserver", "--port", str(port)]
        + ["--max-num-seqs", str(max_num_seqs), "--step-ms", str(step_ms)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    for _ in range(100):
        try:
            if requests.get(base + "/models", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.1)
    return proc, base


def hint_requests(n: int, assignments: int = 1):
    from feedback.llm import FailingTest, HintRequest

    def statement(a: int) -> str:
        return (
            f"Assignment {a}. Write `search(x, xs)` that returns the index of `x` in the sorted tuple `xs`, "
            "or -1.\nUse binary search. " + "The tuple may be empty; values may repeat. " * 20
        )

    return [
        HintRequest(
            assignment_key=f"cs101/search-{k % assignments}",
            statement=statement(k % assignments),
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


class Tally:
    """What a scenario produced: every call's cost, and how each request ended."""

    def __init__(self) -> None:
        self.results: list = []  # HintResult of every request that ended (model or automatic hint)
        self.model_hints = 0

    def ended(self, result, model_hint: bool) -> None:
        if result is not None:
            self.results.append(result)
        self.model_hints += model_hint

    def summary(self, wall: float) -> dict:
        ttfts = [r.ttft_seconds for r in self.results if r.ttft_seconds is not None]
        return {
            "drain": wall,
            "tok_s": sum(r.completion_tokens for r in self.results) / wall,
            "ttft": statistics.mean(ttfts) if ttfts else float("nan"),
            "answered": len(self.results),
            "model": self.model_hints,
            "prompt": sum(r.prompt_tokens for r in self.results),
            "cached": sum(r.cached_tokens for r in self.results),
        }


async def fixed(hint_reqs, concurrency: int | None) -> dict:
    """The same requests at a fixed concurrency (None: all at once), with the dispatcher's
    answer policy and a pause before sending again what the server failed."""
    import openai

    from feedback import dispatcher
    from feedback.llm import PromptTooLong, StreamStalled, UnusableAnswer

    gate = asyncio.Semaphore(concurrency or len(hint_reqs))
    tally = Tally()
    async with dispatcher._client() as client:
        info = await dispatcher.check_server(client, dispatcher.server_status())
        context = dispatcher.context_window(client, info)

        async def one(req) -> bool:
            """True when the request ended; False: send it again."""
            async with gate:
                try:
                    result = await dispatcher.ask_for_hint(client, req, context)
                except UnusableAnswer as exc:
                    tally.ended(exc.spent, model_hint=False)
                    return True
                except PromptTooLong:
                    tally.ended(None, model_hint=False)
                    return True
                except openai.APIStatusError as exc:
                    if exc.status_code == 429 or exc.status_code >= 500:
                        return False  # overloaded: sent again
                    tally.ended(None, model_hint=False)  # refused: the automatic hint, final
                    return True
                except (StreamStalled, openai.APIError):
                    return False
            tally.ended(result, model_hint=True)
            return True

        pending, started = list(hint_reqs), time.perf_counter()
        while pending and time.perf_counter() - started < 1800:
            ended = await asyncio.gather(*(one(r) for r in pending))
            pending = [r for r, done in zip(pending, ended, strict=True) if not done]
            if pending:
                await asyncio.sleep(0.5)
        return tally.summary(time.perf_counter() - started)


async def through_dispatcher(hint_reqs) -> tuple[dict, int]:
    """feedback.dispatcher.run_all, sending again what it asks to retry or defers."""
    from feedback import dispatcher

    tally = Tally()
    pending, started = list(hint_reqs), time.perf_counter()
    while pending and time.perf_counter() - started < 1800:
        outcomes = await dispatcher.run_all(pending)
        for o in outcomes:
            if o.kind in ("llm", "fallback"):
                tally.ended(o.result, model_hint=o.kind == "llm")
        pending = [r for r, o in zip(pending, outcomes, strict=True) if o.kind in ("retry", "deferred")]
        if pending:
            await asyncio.sleep(0.5)  # the dispatcher's backoff, shortened
    return tally.summary(time.perf_counter() - started), len(pending)


def configure(base_url: str, model: str, args) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="grader.settings",
        LLM_BASE_URL=base_url,
        LLM_MODEL=model,
        LLM_MAX_IN_FLIGHT=str(args.max_in_flight),
        LLM_MIN_IN_FLIGHT="1",
        LLM_ANSWER_TOKENS=str(args.answer_tokens),
        LLM_MAX_ANSWER_TOKENS=str(args.max_answer_tokens),
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()
    reset_controls()


def reset_controls() -> None:
    """A fresh limit and a closed breaker for this server: only the dispatcher's own keys."""
    import redis
    from django.conf import settings

    from feedback.dispatcher import server_key

    client = redis.Redis.from_url(settings.LLM_REDIS_URL or settings.CELERY_BROKER_URL)
    for key in client.scan_iter(server_key() + "*"):
        client.delete(key)


def prefix_cache(base_url: str) -> tuple[float, float]:
    from feedback.llm import root_of

    text = requests.get(root_of(base_url) + "/metrics", timeout=5).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        name = line.split("{")[0].split(" ")[0]
        if name in ("vllm:prefix_cache_queries_total", "vllm:prefix_cache_hits_total"):
            values[name] = values.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return values.get("vllm:prefix_cache_queries_total", 0.0), values.get("vllm:prefix_cache_hits_total", 0.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--base-url", help="an OpenAI-compatible server's /v1; default: start the dev server")
    parser.add_argument("--model", default=DEV_MODEL)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--concurrency", default="2,4,8,12,16,20,24,32", help="fixed levels, comma-separated")
    parser.add_argument("--max-in-flight", type=int, default=64, help="the dispatcher's ceiling")
    parser.add_argument("--answer-tokens", type=int, default=600)
    parser.add_argument("--max-answer-tokens", type=int, default=4096)
    parser.add_argument(
        "--assignments", type=int, default=1, help="requests spread over this many assignments"
    )
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="dev servers for the replicas run (rendezvous routing); 1: none",
    )
    parser.add_argument("--base-urls", help="replicas of that server for the replicas run (comma-separated)")
    parser.add_argument("--max-num-seqs", type=int, default=16, help="dev server only")
    parser.add_argument("--step-ms", type=float, default=2.0, help="dev server only")
    args = parser.parse_args(argv)
    try:
        levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        parser.error(f"--concurrency must be integers separated by commas, got {args.concurrency!r}")
    if args.n < 1 or not levels or min(levels) < 1 or args.assignments < 1 or args.replicas < 1:
        parser.error("--n, --assignments, --replicas and the --concurrency levels must be at least 1")

    proc = None
    if args.base_url:
        base_url = args.base_url
    else:
        proc, base_url = start_dev_server(args.max_num_seqs, args.step_ms)
    try:
        configure(base_url, args.model, args)
        reqs = hint_requests(args.n, args.assignments)
        rows = [
            ("(a) one at a time", asyncio.run(fixed(reqs, 1))),
            ("(b) all at once", asyncio.run(fixed(reqs, None))),
        ]
        for c in levels:
            rows.append((f"(c) fixed concurrency {c}", asyncio.run(fixed(reqs, c))))
        reset_controls()
        hits_before = prefix_cache(base_url)
        result, lost = asyncio.run(through_dispatcher(reqs))
        hits_after = prefix_cache(base_url)
        rows.append(("(d) dispatcher (adaptive)", result))
        lost_faulty = None
        if proc is not None:  # faults can be injected into the dev server only
            reset_controls()
            from feedback.llm import root_of

            requests.post(root_of(base_url) + "/admin/faults", json={"fail_503": 0.1}, timeout=5)
            faulty, lost_faulty = asyncio.run(through_dispatcher(reqs))
            rows.append(("(d) dispatcher, 10% 503s", faulty))
        replica_hits = None
        replica_urls = [u.strip() for u in (args.base_urls or "").split(",") if u.strip()]
        if (proc is not None and args.replicas > 1) or len(replica_urls) > 1:
            extra = (
                []
                if replica_urls
                else [start_dev_server(args.max_num_seqs, args.step_ms) for _ in range(args.replicas)]
            )
            replica_procs = [p for p, _ in extra]
            try:
                urls = replica_urls or [url for _, url in extra]
                from django.conf import settings

                settings.LLM_BASE_URLS = urls
                for url in urls:
                    settings.LLM_BASE_URL = url
                    reset_controls()
                # Two passes over the same requests, as (d) ran on a server that had seen them in
                # (a)-(c): the first on cold replicas (only the shared prefixes can hit), the second
                # warm (a request's whole prompt hits only where its first pass went).
                first_pass, _ = asyncio.run(through_dispatcher(reqs))
                cold = [prefix_cache(url) for url in urls]
                replicated, _ = asyncio.run(through_dispatcher(reqs))
                rows.append((f"(e) dispatcher, {len(urls)} replicas", replicated))
                warm = [prefix_cache(url) for url in urls]
                per_server = [(wq - cq, wh - ch) for (wq, wh), (cq, ch) in zip(warm, cold, strict=True)]
                replica_hits = (
                    sum(q for q, _ in per_server),
                    sum(h for _, h in per_server),
                    per_server,
                    sum(h for _, h in cold) / max(sum(q for q, _ in cold), 1),
                )
            finally:
                for replica in replica_procs:
                    replica.terminate()
    finally:
        if proc is not None:
            proc.terminate()
    server = (
        f"dev server max_num_seqs={args.max_num_seqs}, decode step {args.step_ms} ms" if proc else base_url
    )
    print(
        f"feedback benchmark: {args.n} hint requests over {args.assignments} assignment(s); {server}; model {args.model}; "
        f"answer tokens {args.answer_tokens} (then {args.max_answer_tokens})"
    )
    print(
        f"{'scenario':<30}{'drain s':>9}{'output tok/s':>14}{'mean TTFT s':>13}{'answered':>10}{'model':>7}"
    )
    for label, row in rows:
        print(
            f"{label:<30}{row['drain']:>9.1f}{row['tok_s']:>14.1f}{row['ttft']:>13.2f}"
            f"{row['answered']:>10}{row['model']:>7}"
        )
    best_label, best = max(
        ((label, r) for label, r in rows if label.startswith("(c)")), key=lambda x: x[1]["tok_s"]
    )
    print(
        f"best fixed: {best_label}; dispatcher / best fixed: output tok/s {result['tok_s'] / best['tok_s']:.2f} "
        f"(target >= 0.90), drain time {result['drain'] / best['drain']:.2f} (target <= 1.10); "
        f"dispatcher / one at a time: {result['tok_s'] / rows[0][1]['tok_s']:.1f}x"
    )
    queries, hits = (a - b for a, b in zip(hits_after, hits_before, strict=True))
    print(
        f"prefix cache during the dispatcher run: {hits / max(queries, 1):.0%} of prompt tokens served from cache "
        f"(server metrics); the dispatcher's own count: {result['cached'] / max(result['prompt'], 1):.0%}"
    )
    if replica_hits is not None:
        queries, hits, per_server, cold_rate = replica_hits
        shares = ", ".join(f"{q / max(queries, 1):.0%}" for q, _ in per_server)
        print(
            f"prefix cache with {len(per_server)} replicas (requests of one assignment to one replica), second pass: "
            f"{hits / max(queries, 1):.0%} of prompt tokens served from cache (target >= 90%); first pass on "
            f"cold replicas: {cold_rate:.0%} (only shared prefixes can hit); share of prompt tokens per replica: "
            f"{shares}"
        )
    faulty_note = f", {lost_faulty} (10% 503s)" if lost_faulty is not None else ""
    print(
        f"lost requests: {lost} (clean run){faulty_note}; every request answered: "
        f"{all(row['answered'] == args.n for label, row in rows if label.startswith('(d)'))}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
