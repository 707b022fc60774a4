"""Sandbox benchmark: one 10-test Python assignment graded N times.

Prints p50/p95 latency per submission and submissions per minute for
  - bare:        the same harness in a plain subprocess on the host (no container): the baseline
  - sequential:  sandbox.run, one submission at a time
  - parallel:    sandbox.run from W worker threads (W=2 by default, like 2 Celery workers)
  - crun:        the same containers made by crun (SANDBOX_RUNTIME=crun, as make demo runs),
                 fresh and pooled with W workers, in the same interleaved rounds
  - runsc:       the same under gVisor (SANDBOX_RUNTIME=runsc), fresh and pooled
and the ratios between them, all measured in the same run (the machines are noisy).
Half the submissions are correct, half wrong; every result is checked, so a fast wrong
answer cannot look like a good figure.

    python -m bench.sandbox [--n 40] [--workers 2] [--rounds 4] [--without-pytest] [--without-runsc]
                            [--without-crun]

Targets (on a 2-core machine): p50 <= 0.5 s per submission, >= 300 submissions
per minute with 2 workers. No assertion on them: this prints, a person judges.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sandbox
from sandbox import ExprSpec, IOSpec, Job, PytestSpec, Test, image, runner
from sandbox.pool import WarmPool

HARNESS = Path(sandbox.__file__).parent / "harness" / "grader_harness.py"
# Debian's python3 (the same 3.11 the image has, with Debian's pytest): the student user must be
# able to execute it, which rules out an interpreter under /root.
BARE_PYTHON = "/usr/bin/python3"

CORRECT = """
def search(x, xs):
    lo, hi = 0, len(xs) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if xs[mid] == x:
            return mid
        if xs[mid] < x:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1

if __name__ == "__main__":
    x = int(input())
    xs = tuple(int(v) for v in input().split())
    print(search(x, xs))
"""
# A classic slip: None instead of -1 for a missing value (fails 3 of the 10 tests).
WRONG = CORRECT.replace("return -1\n\nif", "return None\n\nif")

WITH_PYTEST = True
PYTEST = """
from solution import search

def test_first_and_last():
    assert search(1, (1, 2, 3)) == 0
    assert search(3, (1, 2, 3)) == 2
"""


def bench_tests() -> list[Test]:
    xs = tuple(range(-50, 200, 3))
    tests = [
        Test(
            id=f"e{i}",
            name=f"expr {i}",
            spec=ExprSpec(expr=f"search({x}, sample)", expected=repr(xs.index(x) if x in xs else -1)),
            visible=i < 3,
        )
        for i, x in enumerate([-50, 1, 100, 8, 199, 5])
    ]
    line = " ".join(map(str, xs))
    for i, x in enumerate([-47, 5, 13]):
        expected = xs.index(x) if x in xs else -1
        tests.append(
            Test(id=f"io{i}", name=f"io {i}", spec=IOSpec(stdin=f"{x}\n{line}\n", stdout=f"{expected}\n"))
        )
    if WITH_PYTEST:
        tests.append(Test(id="py", name="pytest", spec=PytestSpec(source=PYTEST)))
    else:  # the same checks as an expression test: the harness never imports pytest
        tests.append(Test(id="py", name="first", spec=ExprSpec(expr="search(1, (1, 2, 3))", expected="0")))
    return tests


def bench_job(correct: bool) -> Job:
    xs = tuple(range(-50, 200, 3))
    return Job(
        files={"solution.py": CORRECT if correct else WRONG},
        tests=bench_tests(),
        setup_code=f"sample = {xs!r}",
    )


def expected_score(correct: bool) -> float:
    return 10.0 if correct else 7.0  # e3, e5 and io1 look for missing values


def run_bare(job: Job) -> float:
    """The same harness and job message, in a subprocess on the host, without a container."""
    root = Path(tempfile.mkdtemp(prefix="grader-bench-"))
    root.chmod(0o711)  # the student user must reach its scratch folder
    try:
        scratch, private = root / "scratch", root / "private"
        scratch.mkdir(mode=0o1777)
        scratch.chmod(0o1777)
        token = "bench"
        message = json.loads(runner.job_message(job, token))
        message["paths"] = {
            "private": str(private),
            "scratch": [str(scratch)],
            "workdir": str(scratch / "work"),
        }
        started = time.perf_counter()
        done = subprocess.run(
            [BARE_PYTHON, "-I", "-B", str(HARNESS)],
            input=json.dumps(message).encode(),
            capture_output=True,
            check=True,
        )
        elapsed = time.perf_counter() - started
        body = runner.parse_result(done.stdout, token)
        if body.get("status") != "ok":
            print(body.get("detail"), file=sys.stderr)
        result = runner.validate_result(job, body)
        _check(result, job)
        return elapsed
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_container(job: Job, tag: str, pool=None, runtime: str = "runc") -> float:
    started = time.perf_counter()
    result = sandbox.run(job, tag, pool=pool, runtime=runtime)
    elapsed = time.perf_counter() - started
    _check(result, job)
    return elapsed


def _check(result: sandbox.Result, job: Job) -> None:
    correct = job.files["solution.py"] == CORRECT
    if result.status != sandbox.RunStatus.OK or result.score != expected_score(correct):
        raise SystemExit(f"wrong result ({result.status}, score {result.score}): {result.message}")


def warmed_pool(jobs: list[Job], tag: str, workers: int, runtime: str = "runc") -> WarmPool:
    """A pool of ``runtime``'s containers, full, after one fresh run (page cache, image layers)."""
    run_container(jobs[0], tag, runtime=runtime)
    pool = WarmPool(size=workers, runtime=runtime)
    run_container(jobs[1], tag, pool, runtime)  # fills the pool
    return pool


def measure(label: str, fn, jobs: list[Job], workers: int) -> dict:
    return summarize(label, workers, *timed_batch(fn, jobs, workers))


def timed_batch(fn, jobs: list[Job], workers: int) -> tuple[list[float], float]:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        latencies = list(pool.map(fn, jobs))
    return latencies, time.perf_counter() - started


def summarize(label: str, workers: int, latencies: list[float], wall: float) -> dict:
    latencies = sorted(latencies)
    return {
        "label": label,
        "workers": workers,
        "n": len(latencies),
        "p50": statistics.median(latencies),
        "p95": latencies[max(0, int(round(0.95 * len(latencies))) - 1)],
        "per_minute": len(latencies) / wall * 60,
        "wall": wall,
    }


def interleaved(configurations: list[tuple[str, object, int]], jobs: list[Job], rounds: int) -> list[dict]:
    """Each configuration grades len(jobs) submissions, in ``rounds`` slices taken in turn, so
    that every row sees the same mix of the (shared, drifting) machine's load."""
    latencies: dict[str, list[float]] = {label: [] for label, _, _ in configurations}
    walls = dict.fromkeys(latencies, 0.0)
    size = max(1, len(jobs) // rounds)
    for start in range(0, len(jobs), size):
        for label, fn, workers in configurations:
            batch, wall = timed_batch(fn, jobs[start : start + size], workers)
            latencies[label] += batch
            walls[label] += wall
    return [summarize(label, w, latencies[label], walls[label]) for label, _, w in configurations]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=40, help="submissions per configuration (default 40)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--without-pytest", action="store_true", help="10th test an expression, not a pytest file"
    )
    parser.add_argument("--without-runsc", action="store_true", help="skip the gVisor (runsc) rows")
    parser.add_argument(
        "--without-crun", action="store_true", help="skip the crun rows (make demo's runtime)"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="slices per configuration, taken in turn so that all rows share the machine's load (default 4)",
    )
    args = parser.parse_args(argv)
    global WITH_PYTEST
    WITH_PYTEST = not args.without_pytest
    if os.geteuid() != 0:
        raise SystemExit("run as root: the bare baseline switches to a student uid like the container does")
    tag = image.ensure()
    jobs = [bench_job(i % 2 == 0) for i in range(args.n)]
    w = args.workers
    pool = warmed_pool(jobs, tag, w)
    crun_rows = []
    if not args.without_crun:  # the same containers from crun, in the same rounds (same load)
        crun = warmed_pool(jobs, tag, w, "crun")
        crun_rows = [
            (f"crun, {w} workers", lambda j: run_container(j, tag, runtime="crun"), w),
            (f"crun pooled, {w} workers", lambda j: run_container(j, tag, crun, "crun"), w),
        ]
    time.sleep(1)
    rows = interleaved(
        [
            ("bare subprocess", run_bare, 1),
            (f"bare, {w} workers", run_bare, w),
            ("container, sequential", lambda j: run_container(j, tag), 1),
            (f"container, {w} workers", lambda j: run_container(j, tag), w),
            ("pooled, sequential", lambda j: run_container(j, tag, pool), 1),
            (f"pooled, {w} workers", lambda j: run_container(j, tag, pool), w),
            *crun_rows,
        ],
        jobs,
        args.rounds,
    )
    pool.close()
    if crun_rows:
        crun.close()
    if not args.without_runsc:
        gvisor = warmed_pool(jobs, tag, w, "runsc")
        time.sleep(1)
        rows += interleaved(
            [
                ("runsc, sequential", lambda j: run_container(j, tag, runtime="runsc"), 1),
                (f"runsc pooled, {w} workers", lambda j: run_container(j, tag, gvisor, "runsc"), w),
            ],
            jobs,
            args.rounds,
        )
        gvisor.close()
    print(
        f"sandbox benchmark: {len(bench_tests())} tests per submission (6 expression, 3 stdin/stdout, "
        f"{'1 pytest file' if WITH_PYTEST else '1 more expression'}),"
    )
    print(
        f"{args.n} submissions per row in {args.rounds} interleaved rounds, half of them correct, "
        f"every score checked; image {tag}; load average {os.getloadavg()[0]:.2f} at the end"
    )
    print(f"{'configuration':<24}{'p50 s':>8}{'p95 s':>8}{'subs/min':>10}")
    for row in rows:
        print(f"{row['label']:<24}{row['p50']:>8.3f}{row['p95']:>8.3f}{row['per_minute']:>10.0f}")
    bare, bare_par, seq, par, pooled, pooled_par = rows[:6]
    print(
        f"container overhead per submission, p50: fresh {seq['p50'] - bare['p50']:+.3f} s "
        f"({seq['p50'] / bare['p50']:.2f}x bare), pooled {pooled['p50'] - bare['p50']:+.3f} s "
        f"({pooled['p50'] / bare['p50']:.2f}x bare)"
    )
    print(
        f"throughput with {w} workers relative to bare: fresh {par['per_minute'] / bare_par['per_minute']:.2f}, "
        f"pooled {pooled_par['per_minute'] / bare_par['per_minute']:.2f}"
    )
    print(
        f"targets (pooled, the production path): p50 <= 0.5 s -> {pooled['p50']:.3f} s "
        f"{'met' if pooled['p50'] <= 0.5 else 'NOT met'}; >= 300 subs/min with 2 workers -> "
        f"{pooled_par['per_minute']:.0f} {'met' if pooled_par['per_minute'] >= 300 else 'NOT met'}"
    )
    if crun_rows:
        c_par, c_pooled = rows[6:8]
        print(
            f"crun, same rounds: throughput with {w} workers relative to bare: "
            f"fresh {c_par['per_minute'] / bare_par['per_minute']:.2f}, "
            f"pooled {c_pooled['per_minute'] / bare_par['per_minute']:.2f} (target >= 0.7)"
        )
    if not args.without_runsc:
        g_seq, g_par = rows[-2:]
        print(
            f"gVisor (runsc) next to runc, same run: fresh p50 {g_seq['p50']:.3f} s vs {seq['p50']:.3f} s "
            f"({g_seq['p50'] / seq['p50']:.2f}x); pooled throughput with {w} workers "
            f"{g_par['per_minute']:.0f} vs {pooled_par['per_minute']:.0f} subs/min "
            f"({g_par['per_minute'] / pooled_par['per_minute']:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
