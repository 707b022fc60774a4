"""Size an OpenAI-compatible server the way an operator would (no Django here).

Per scenario (hint, grade with a rubric, free-form code review) and per concurrency, sends
the same requests and records each one's response time, output tokens per second and its
prompt / cached / completion tokens (the split that shows what prefix caching saves). While the
requests run it samples the server's /metrics every half second and keeps the peak KV-cache
use (read after the run it is always 0) and, for a server on this machine, the resident memory
of the server's whole process tree (vLLM's engine runs in child processes: the API process's
own ``process_resident_memory_bytes`` is not the engine's). ``write_markdown`` renders the table.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
import openai
import psutil

from feedback.llm import RESPONSE_FORMAT, FailingTest, HintRequest, RubricSpec, build_messages, root_of

SAMPLE = HintRequest(
    assignment_key="report/search",
    statement="Return the index of x in the sorted tuple xs, or -1.",
    visible_tests=["small: search(5, (1, 3, 5))"],
    show_hidden_details=False,
    files={
        "solution.py": "def search(x, xs):\n    for i in range(len(xs)):\n        if xs[i] == x:\n"
        "            return i\n"
    },
    failing=[FailingTest("missing", True, "failed", "search(4, (1, 3, 5))", "-1", "None")],
    attempt=2,
)
KV_METRICS = ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc")


def scenarios() -> dict[str, dict]:
    graded = HintRequest(**{**SAMPLE.__dict__, "rubric": [RubricSpec("Readability", "Clear names.", 2.0)]})
    review = [
        {"role": "system", "content": "You review student code briefly."},
        {"role": "user", "content": "Review this code:\n" + SAMPLE.files["solution.py"]},
    ]
    return {
        "hint": {"messages": build_messages(SAMPLE), "response_format": RESPONSE_FORMAT},
        "grade": {"messages": build_messages(graded), "response_format": RESPONSE_FORMAT},
        "code review": {"messages": review},
    }


@dataclass
class Row:
    scenario: str
    concurrency: int
    latencies: list[float]
    tokens_per_second: list[float]
    wall: float
    completion_tokens: int
    memory: dict[str, float]
    prompt_tokens: int = 0
    cached_tokens: int = 0


async def measure(
    base_url: str, api_key: str, model: str, scenario: str, body: dict, concurrency: int, requests: int
) -> Row:
    gate = asyncio.Semaphore(concurrency)
    latencies, rates, tokens, prompt, cached = [], [], 0, 0, 0
    async with openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=2, timeout=600) as client:

        async def one():
            nonlocal tokens, prompt, cached
            async with gate:
                started = time.perf_counter()
                response = await client.chat.completions.create(model=model, max_tokens=600, **body)
                elapsed = time.perf_counter() - started
                usage = response.usage
                latencies.append(elapsed)
                rates.append(usage.completion_tokens / elapsed)
                tokens += usage.completion_tokens
                prompt += usage.prompt_tokens
                details = usage.prompt_tokens_details
                cached += (details.cached_tokens or 0) if details else 0

        peaks: dict[str, float] = {}
        sampler = asyncio.create_task(sample_memory(base_url, peaks))
        started = time.perf_counter()
        try:
            await asyncio.gather(*(one() for _ in range(requests)))
        finally:
            wall = time.perf_counter() - started
            sampler.cancel()
    return Row(scenario, concurrency, latencies, rates, wall, tokens, peaks, prompt, cached)


async def sample_memory(base_url: str, peaks: dict[str, float], every: float = 0.5) -> None:
    """Keep the peak of each memory figure in ``peaks`` until cancelled."""
    url = root_of(base_url) + "/metrics"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
        while True:
            found = await _metrics_memory(http, url)
            rss = server_tree_rss(base_url)
            if rss:
                found["server processes RSS (GB)"] = rss / 1e9
            for name, value in found.items():
                peaks[name] = max(peaks.get(name, 0.0), value)
            await asyncio.sleep(every)


async def _metrics_memory(http, url: str) -> dict[str, float]:
    try:
        async with http.get(url) as r:
            text = await r.text()
    except (aiohttp.ClientError, TimeoutError):
        return {}
    found = {}
    for name in KV_METRICS:
        values = [
            float(v) for v in re.findall(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? ([0-9.e+-]+)", text, re.M)
        ]
        if values:
            found[name] = max(values)
    return found


def server_tree_rss(base_url: str) -> int:
    """Resident bytes of the process listening on the server's port and all its children, when
    the server runs on this machine (0 otherwise, or when it cannot be seen)."""
    parts = urlsplit(base_url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1") or not parts.port:
        return 0
    try:
        listener = next(
            c.pid
            for c in psutil.net_connections(kind="tcp")
            if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == parts.port and c.pid
        )
        root = psutil.Process(listener)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except (StopIteration, psutil.Error):
        return 0


def run(base_url: str, api_key: str, model: str, concurrencies: list[int], requests: int) -> list[Row]:
    return [
        asyncio.run(measure(base_url, api_key, model, name, body, c, requests))
        for name, body in scenarios().items()
        for c in concurrencies
    ]


def _stats(values: list[float]) -> str:
    return (
        f"{statistics.mean(values):.2f} / {statistics.median(values):.2f} / "
        f"{min(values):.2f} / {max(values):.2f}"
    )


def write_markdown(rows: list[Row], model: str, base_url: str) -> str:
    lines = [
        f"# LLM server report: {model}",
        "",
        f"Server: `{base_url}`",
        "",
        "| scenario | concurrency | response time s (mean / median / min / max) | "
        "output tokens/s per request (mean / median / min / max) | aggregate output tokens/s | "
        "tokens per request: prompt / cached / completion | server memory (peak during the run) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        memory = ", ".join(f"{k} {v:.3g}" for k, v in r.memory.items()) or "not exposed"
        n = max(len(r.latencies), 1)
        lines.append(
            f"| {r.scenario} | {r.concurrency} | {_stats(r.latencies)} | {_stats(r.tokens_per_second)} | "
            f"{r.completion_tokens / r.wall:.0f} | {r.prompt_tokens / n:.0f} / {r.cached_tokens / n:.0f} / "
            f"{r.completion_tokens / n:.0f} | {memory} |"
        )
    return "\n".join(lines) + "\n"


def write_plots(rows: list[Row], folder) -> list:
    """Two PNG charts next to the report: response time and aggregate tokens/s by concurrency."""
    import matplotlib

    matplotlib.use("Agg")
    from pathlib import Path

    import matplotlib.pyplot as plt

    folder = Path(folder)
    paths = []
    for name, label, value in (
        ("llm-latency.png", "mean response time (s)", lambda r: statistics.mean(r.latencies)),
        ("llm-throughput.png", "aggregate output tokens/s", lambda r: r.completion_tokens / r.wall),
    ):
        figure, axes = plt.subplots(figsize=(6, 4), dpi=100)
        for scenario in dict.fromkeys(r.scenario for r in rows):
            mine = [r for r in rows if r.scenario == scenario]
            axes.plot([r.concurrency for r in mine], [value(r) for r in mine], marker="o", label=scenario)
        axes.set_xlabel("concurrency")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path = folder / name
        figure.savefig(path)
        plt.close(figure)
        paths.append(path)
    return paths
