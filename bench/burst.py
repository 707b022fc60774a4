"""Deadline-burst benchmark: N submissions within S seconds through HTTP, graded by the real pipeline.

    python -m bench.burst [--n 1000] [--seconds 60] [--courses 4]
                          [--database grader_bench] [--broker URL] [--cache URL] [--port 8765]
                          [--runtime crun]

What runs (all on this machine, on a database and Redis database of its own):
  gunicorn (2 processes x 4 threads) <- load generator (another process, 8 threads, paced)
  containers from crun, as make demo makes them (--runtime to choose)
  celery workers split as scripts/demo.sh splits them: grading + regrading (2 pool processes,
  a warm container each) and feedback + default (2 pool processes), without the demo's
  embedded beat (no periodic sweeps; hints are dispatched as requests arrive) and without
  gossip/mingle; DEBUG off, as deployed
  PostgreSQL, Redis, Docker as set up by scripts/setup.sh.
Students log in through sessions made by the benchmark (password hashing is not what is
measured); every submission is a real multipart POST of the assignment's form.

Printed: time to drain, p50/p95 from submit to graded, submissions per minute, the
sandbox-only throughput (bench/sandbox's pooled 2-worker row) measured in the same run,
and their ratio; lost (never graded) and graded-twice counts, which must both be 0.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin"
# Its own database, Redis databases and port (flags), so that it can run beside other people's
# tests and benchmarks on a shared machine.
DB = "grader_bench"
BROKER = "redis://127.0.0.1:6379/12"
CACHE = "redis://127.0.0.1:6379/13"
PORT = 8765
RUNTIME = "crun"  # as make demo runs it (scripts/demo.sh)


def environment() -> dict:
    return dict(
        os.environ,
        DATABASE_URL=f"postgres://grader:grader@127.0.0.1:5432/{DB}",
        CELERY_BROKER_URL=BROKER,
        CACHE_URL=CACHE,
        DJANGO_SETTINGS_MODULE="grader.settings",
        SANDBOX_POOL_SIZE="1",
        SANDBOX_RUNTIME=RUNTIME,
        LOG_LEVEL="WARNING",
        DEBUG="false",  # as deployed: no per-query bookkeeping
    )


def fresh_database() -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB} OWNER grader"):
        subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-qc", sql], check=True)
    subprocess.run([PY / "python", "manage.py", "migrate", "-v0"], cwd=ROOT, env=environment(), check=True)
    subprocess.run(
        [PY / "python", "-c", "import redis; redis.Redis.from_url('%s').flushdb()" % BROKER], check=True
    )


def seed(courses: int, students_per_course: int) -> list[tuple[str, str, str]]:
    """Courses with the bench/sandbox assignment; returns (session key, course, slug) per student."""
    from django.contrib.auth import get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from bench.sandbox import CORRECT, bench_tests
    from courses.models import Assignment, Course, Membership, Role, TestCase

    sample = tuple(range(-50, 200, 3))
    people = []
    for c in range(courses):
        course = Course.objects.create(code=f"burst{c}", title=f"Burst {c}")
        assignment = Assignment.objects.create(
            course=course,
            slug="search",
            title="Search",
            published=True,
            setup_code=f"sample = {sample!r}",
            reference_files={"solution.py": CORRECT},
        )
        for order, test in enumerate(bench_tests()):
            TestCase.objects.create(
                assignment=assignment,
                name=test.name,
                kind=test.spec.kind,
                order=order,
                spec=test.spec.model_dump(exclude={"kind"}, mode="json"),
                points=1,
                time_limit=10,
            )
        for s in range(students_per_course):
            user = get_user_model().objects.create_user(f"s{c}_{s}", password=None)
            Membership.objects.create(user=user, course=course, role=Role.STUDENT)
            session = SessionStore()
            session["_auth_user_id"], session["_auth_user_backend"] = (
                str(user.pk),
                "django.contrib.auth.backends.ModelBackend",
            )
            session["_auth_user_hash"] = user.get_session_auth_hash()
            session.create()
            people.append((session.session_key, course.code, assignment.slug))
    return people


def load(people, n: int, seconds: float, out, port: int) -> None:
    """The load generator (its own process): n POSTs paced evenly over ``seconds``.

    Each submission goes on a connection of its own ("Connection: close"). A student's browser
    sits seconds between two submissions, longer than gunicorn keeps an idle connection (2 s);
    reusing one the server is closing at that instant is reset before the server reads it, a
    race of the client library, not of the platform (browsers open a new connection and resend).
    A request that fails anyway is recorded with its error, never silently dropped."""
    import requests

    from bench.sandbox import CORRECT, WRONG

    base = f"http://127.0.0.1:{port}"
    try:
        sessions = []
        for key, course, slug in people:
            http = requests.Session()
            http.cookies.set("sessionid", key)
            page = http.get(f"{base}/courses/{course}/{slug}/", timeout=30, headers={"Connection": "close"})
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
            sessions.append((http, token, course, slug))
        start = time.monotonic()

        def submit(i: int) -> None:
            time.sleep(max(0.0, start + i * seconds / n - time.monotonic()))
            http, token, course, slug = sessions[i % len(sessions)]
            code = CORRECT if i % 2 == 0 else WRONG
            try:
                r = http.post(
                    f"{base}/courses/{course}/{slug}/submit/",
                    data={"csrfmiddlewaretoken": token},
                    files={"files": ("solution.py", code.encode())},
                    headers={"Referer": base, "Connection": "close"},
                    timeout=60,
                    allow_redirects=False,
                )
                out.put((i, r.status_code, time.time()))
            except requests.RequestException as exc:
                out.put((i, type(exc).__name__, time.time()))

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(submit, range(n)))
    finally:
        out.put(None)


def collect(generator, results) -> list[tuple]:
    """The generator's answers until it says it is done, or dies without saying so."""
    import queue

    answers = []
    while True:
        try:
            item = results.get(timeout=5)
        except queue.Empty:
            if generator.is_alive():
                continue
            print(f"load generator died (exit code {generator.exitcode})", file=sys.stderr)
            break
        if item is None:
            break
        answers.append(item)
    generator.join()
    return answers


def start_services() -> list[subprocess.Popen]:
    env, logs = environment(), ROOT / "var" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    procs = [
        subprocess.Popen(
            [
                PY / "gunicorn",
                "grader.wsgi",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--workers",
                "2",
                "--threads",
                "4",
            ],
            cwd=ROOT,
            env=env,
            stdout=open(logs / "bench-web.log", "wb"),
            stderr=subprocess.STDOUT,
        ),
        # The workers split as scripts/demo.sh splits them: grading on its own processes, hints
        # and the rest on others (what a grading host and a feedback machine split in
        # production). One worker for every queue let a hint dispatch (it drains for up to
        # 50 s) hold one of the two grading slots.
        *(
            subprocess.Popen(
                [PY / "celery", "-A", "grader", "worker", "-Q", queues, "-c", "2", "-n", f"{name}@%h"]
                + ["--without-gossip", "--without-mingle"],
                cwd=ROOT,
                env=env,
                stdout=open(logs / f"bench-{name}.log", "wb"),
                stderr=subprocess.STDOUT,
            )
            for name, queues in (("grading", "grading,regrading"), ("feedback", "feedback,default"))
        ),
    ]
    import requests

    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{PORT}/accounts/login/", timeout=1)
            break
        except requests.RequestException:
            time.sleep(0.2)
    time.sleep(3)  # the worker's pool processes and warm containers
    return procs


def sandbox_only_per_minute(n: int) -> float:
    """bench/sandbox's production-path row: pooled containers, 2 workers, same assignment."""
    from bench.sandbox import bench_job, measure, run_container
    from sandbox import image
    from sandbox.pool import WarmPool

    tag, pool = image.ensure(), WarmPool(size=2, runtime=RUNTIME)
    jobs = [bench_job(i % 2 == 0) for i in range(n)]
    run_container(jobs[0], tag, pool, RUNTIME)
    time.sleep(1)
    row = measure("pooled, 2 workers", lambda j: run_container(j, tag, pool, RUNTIME), jobs, 2)
    pool.close()
    return row["per_minute"]


def main(argv: list[str] | None = None) -> int:
    global DB, BROKER, CACHE, PORT, RUNTIME
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--courses", type=int, default=4)
    parser.add_argument("--students", type=int, default=25, help="per course")
    parser.add_argument(
        "--database", default=DB, help=f"PostgreSQL database, dropped and made again (default {DB})"
    )
    parser.add_argument(
        "--broker", default=BROKER, help=f"Celery's Redis database, flushed (default {BROKER})"
    )
    parser.add_argument("--cache", default=CACHE, help=f"the cache's Redis database (default {CACHE})")
    parser.add_argument("--port", type=int, default=PORT, help=f"the web server's port (default {PORT})")
    parser.add_argument(
        "--runtime",
        default=RUNTIME,
        choices=("runc", "crun", "runsc"),
        help=f"SANDBOX_RUNTIME (default {RUNTIME})",
    )
    args = parser.parse_args(argv)
    DB, BROKER, CACHE, PORT, RUNTIME = args.database, args.broker, args.cache, args.port, args.runtime
    os.environ.update(environment())
    fresh_database()
    import django

    django.setup()
    from grading.models import Status, Submission, SubmissionEvent

    baseline = sandbox_only_per_minute(40)
    people = seed(args.courses, args.students)
    procs = start_services()
    try:
        spawn = multiprocessing.get_context("spawn")  # a clean process: no inherited connections
        results = spawn.Queue()
        generator = spawn.Process(target=load, args=(people, args.n, args.seconds, results, PORT))
        generator.start()
        answers = collect(generator, results)
        arrived = time.time()
        accepted = sum(1 for _, code, _ in answers if code == 302)
        while Submission.objects.exclude(status__in=[Status.GRADED, Status.ERROR]).exists():
            time.sleep(1)
            if time.time() - arrived > 1800:
                break
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)
    subs = list(Submission.objects.all())
    graded = [s for s in subs if s.status == Status.GRADED]
    lat = sorted((s.graded_at - s.submitted_at).total_seconds() for s in graded)
    first, last = min(s.submitted_at for s in subs), max(s.graded_at for s in graded)
    drain = (last - first).total_seconds()
    per_minute = len(graded) / drain * 60
    twice = sum(
        1 for s in subs if SubmissionEvent.objects.filter(submission=s, status=Status.GRADED).count() > 1
    )
    print(
        f"burst benchmark: {args.n} submissions over {args.seconds:.0f} s through HTTP, {args.courses} courses, "
        f"10 tests each (6 expression, 3 stdin/stdout, 1 pytest), half correct"
    )
    print(
        f"  accepted (HTTP 302): {accepted} of {len(answers)}; stored: {len(subs)}; graded: {len(graded)}; "
        f"lost: {len(subs) - len(graded)}; graded twice: {twice}"
    )
    refused = Counter(str(code) for _, code, _ in answers if code != 302)
    if refused:
        print("  not accepted: " + ", ".join(f"{count} x {code}" for code, count in refused.most_common()))
    print(f"  time to drain (first submit -> last graded): {drain:.1f} s")
    print(
        f"  submit -> graded: p50 {statistics.median(lat):.1f} s, p95 {lat[int(0.95 * len(lat)) - 1]:.1f} s"
    )
    print(f"  pipeline throughput: {per_minute:.0f} submissions/min")
    print(
        f"  sandbox-only throughput (same run, pooled, 2 workers, {RUNTIME}): {baseline:.0f} submissions/min"
    )
    print(f"  ratio pipeline/sandbox: {per_minute / baseline:.2f}  (target >= 0.85)")
    return 0 if accepted == len(subs) == len(graded) == args.n and twice == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
