"""Pages under a deadline crowd: 100 students on the site at once, most on the live page.

    python -m bench.web [--students 100] [--seconds 60] [--cache-url redis://127.0.0.1:6379/13]

What runs (all on this machine, on a database and a Redis database of its own):
  gunicorn exactly as scripts/demo.sh starts it (2 processes x 4 threads, access log to a file)
  <- a load generator of 2 processes (asyncio + aiohttp), separate from the server's processes.
The database holds the demo course (courses.demo.seed) and the students, each logged in by a
session made directly (password hashing is not what is measured), each with a graded first
attempt of the binary search; like a class just before a deadline:
  60% have a second attempt queued or running: live.js polls its status every 1 s;
  20% wait for the model's hint on a graded attempt: polled every 3 s;
  20% are done: they look at their pages, think 5-10 s, and look again.
Every virtual student goes dashboard -> assignment page -> own submission page -> live polls
(as static/js/live.js does: its interval, its If-None-Match), 30 s on the live page, and again.

Printed, measured in the same run: one student alone (p50/p95 per page, and the CPU time
gunicorn and PostgreSQL spend per request of each page), then the crowd (p50, p95, p99 per
page and overall, requests/s, errors), the crowd/alone ratio of p95, the CPU seconds of
gunicorn, PostgreSQL and the load generator, requests per CPU second, and the load average
(the machine is shared: compare runs only with their load; CPU per request varies less).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin"
DB = "grader_webbench"
PORT = 8766
BASE = f"http://127.0.0.1:{PORT}"
PAGES = ("dashboard", "assignment", "submission", "live")
LIVE_SECONDS = 30.0


def environment(cache_url: str) -> dict:
    return dict(
        os.environ,
        DATABASE_URL=f"postgres://grader:grader@127.0.0.1:5432/{DB}",
        CACHE_URL=cache_url,
        CELERY_BROKER_URL=cache_url,  # nothing is enqueued: the seeded rows are written directly
        DJANGO_SETTINGS_MODULE="grader.settings",
        LOG_LEVEL="WARNING",
    )


def fresh_database(env: dict, cache_url: str) -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB} OWNER grader"):
        subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-qc", sql], check=True)
    subprocess.run([PY / "python", "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [PY / "python", "-c", f"import redis; redis.Redis.from_url('{cache_url}').flushdb()"], check=True
    )


def seed(students: int) -> list[dict]:
    """The demo course and ``students`` students; returns what each virtual student needs."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from courses import demo
    from courses.models import Membership, Role
    from feedback.models import Feedback, FeedbackRequest, Source
    from grading.models import Status, Submission, TestResult

    store = import_module(settings.SESSION_ENGINE).SessionStore
    course = demo.seed()
    assignment = course.assignments.get(slug="binary-search")
    tests = list(assignment.tests.order_by("order"))
    code = {"solution.py": demo.SEARCH_REFERENCE.replace("return mid", "return mid + 1")}
    people = []
    for i in range(students):
        user = get_user_model().objects.create_user(f"student{i:03d}", password=None)
        Membership.objects.create(user=user, course=course, role=Role.STUDENT)
        session = store()
        session["_auth_user_id"] = str(user.pk)
        session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
        session["_auth_user_hash"] = user.get_session_auth_hash()
        session.create()
        now = timezone.now()
        graded = Submission.objects.create(
            assignment=assignment, student=user, attempt=1, files=code, status=Status.GRADED,
            score=1, raw_score=1, max_score=len(tests), graded_at=now, status_changed_at=now,
        )  # fmt: skip
        TestResult.objects.bulk_create(
            TestResult(
                submission=graded,
                test_case=t,
                name=t.name,
                visible=t.visible,
                order=n,
                test_input=t.input_text,
                outcome="passed" if n == 0 else "failed",
                points=t.points,
                points_earned=t.points if n == 0 else 0,
                expected="3",
                actual="4" if n else "3",
            )  # fmt: skip
            for n, t in enumerate(tests)
        )
        Feedback.objects.create(
            submission=graded, hint="Look at what the loop returns.", source=Source.FALLBACK
        )
        kind = "polling" if i % 5 < 3 else ("hint" if i % 5 == 3 else "done")
        target = graded
        if kind == "polling":
            target = Submission.objects.create(
                assignment=assignment, student=user, attempt=2, files=code,
                status=Status.RUNNING if i % 2 else Status.QUEUED,
            )  # fmt: skip
        elif kind == "hint":
            FeedbackRequest.objects.create(submission=graded)
        people.append(
            {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}", "kind": kind, "id": target.pk}
        )
    return people


def urls(person: dict) -> dict[str, str]:
    return {
        "dashboard": f"{BASE}/",
        "assignment": f"{BASE}/courses/cs101/binary-search/",
        "submission": f"{BASE}/submissions/{person['id']}/",
        "live": f"{BASE}/submissions/{person['id']}/live/",
    }


async def fetch(http, url: str, page: str, out: list, etag: str | None = None) -> tuple[int, str | None]:
    """One request, timed; returns its status and ETag (what live.js keeps for the next poll)."""
    headers = {"X-Requested-With": "fetch", "If-None-Match": etag} if etag else {"X-Requested-With": "fetch"}
    start = time.perf_counter()
    try:
        async with http.get(url, headers=headers if page == "live" else None, allow_redirects=False) as r:
            await r.read()
            status, tag = r.status, r.headers.get("ETag")
    except Exception:  # noqa: BLE001 - a failed request is a result here (an error), not a crash
        status, tag = 0, None
    out.append((page, time.perf_counter() - start, status))
    return status, tag


async def student(person: dict, until: float, out: list, rng: random.Random) -> None:
    import aiohttp

    where = urls(person)
    async with aiohttp.ClientSession(headers={"Cookie": person["cookie"] + "; tz=UTC"}) as http:
        await asyncio.sleep(rng.uniform(0, 5))  # arrivals spread over the first seconds
        while time.monotonic() < until:
            for page in ("dashboard", "assignment", "submission"):
                await fetch(http, where[page], page, out)
                await asyncio.sleep(rng.uniform(0.5, 2.0))  # reading
            if person["kind"] == "done":
                await asyncio.sleep(rng.uniform(5, 10))
                continue
            interval, etag = (1.0 if person["kind"] == "polling" else 3.0), None
            leave = time.monotonic() + LIVE_SECONDS
            while time.monotonic() < min(leave, until):
                await asyncio.sleep(interval)
                status, tag = await fetch(http, where["live"], "live", out, etag)
                if status in (200, 304):
                    etag = tag or etag


def crowd(people: list[dict], seconds: float, seed_value: int, queue) -> None:
    """One load-generator process: its share of the students, for ``seconds``."""
    out: list = []
    rng = random.Random(seed_value)

    async def run() -> None:
        until = time.monotonic() + seconds
        await asyncio.gather(*(student(p, until, out, rng) for p in people))

    asyncio.run(run())
    usage = os.times()
    queue.put((out, usage.user + usage.system))


def alone(person: dict, rounds: int, server_pid: int) -> tuple[list, dict[str, float]]:
    """One student, one request at a time, each page ``rounds`` times in a row: the figures
    without a crowd, and the server's CPU time per request of each page."""
    import aiohttp

    out: list = []
    cpu: dict[str, float] = {}

    async def run(page: str) -> None:
        url = urls(person)[page]
        async with aiohttp.ClientSession(headers={"Cookie": person["cookie"] + "; tz=UTC"}) as http:
            etag = None
            for _ in range(rounds):
                _, tag = await fetch(http, url, page, out, etag if page == "live" else None)
                etag = tag or etag

    for page in PAGES:
        before, db_before = server_cpu(server_pid), database_cpu()
        asyncio.run(run(page))
        cpu[page] = (server_cpu(server_pid) - before + cpu_since(db_before)) / rounds * 1000
    return out, cpu


def in_processes(target, shares: list, *args) -> tuple[list, float]:
    spawn = multiprocessing.get_context("spawn")  # no inherited connections or Django state
    queue = spawn.Queue()
    procs = [spawn.Process(target=target, args=(share, *args, n, queue)) for n, share in enumerate(shares)]
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    return [row for rows, _ in results for row in rows], sum(cpu for _, cpu in results)


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(rows: list, title: str, qs: tuple[float, ...]) -> dict[str, dict[str, float]]:
    figures = {}
    print(title)
    for page in (*PAGES, "overall"):
        times = [t * 1000 for p, t, s in rows if page in (p, "overall") and s in (200, 304)]
        if not times:
            continue
        figures[page] = {q: quantile(times, q) for q in qs}
        shown = ", ".join(f"p{int(q * 100)} {figures[page][q]:6.1f} ms" for q in qs)
        not_modified = sum(1 for p, _, s in rows if page in (p, "overall") and s == 304)
        print(
            f"  {page:<11} {shown}   ({len(times)} requests{f', {not_modified} answered 304' if not_modified else ''})"
        )
    return figures


def server_cpu(pid: int) -> float:
    import psutil

    root = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in (root, *root.children(recursive=True)))


def database_cpu() -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends serving the benchmark's database, by pid."""
    import psutil

    found = {}
    for proc in psutil.process_iter(["cmdline"]):
        title = " ".join(proc.info["cmdline"] or [])
        if title.startswith("postgres:") and f" {DB} " in f"{title} ":
            try:
                found[proc.pid] = sum(proc.cpu_times()[:2])
            except psutil.Error:
                continue
    return found


def cpu_since(before: dict[int, float]) -> float:
    return sum(now - before.get(pid, 0.0) for pid, now in database_cpu().items())


def start_server(env: dict, nice: int, workers: int, threads: int) -> subprocess.Popen:
    import requests

    log = ROOT / "var" / "log"
    log.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [PY / "gunicorn", "grader.wsgi", "--bind", f"127.0.0.1:{PORT}", "--workers", str(workers), "--threads", str(threads),
         "--graceful-timeout", "5", "--access-logfile", str(log / "bench-web-access.log")],
        cwd=ROOT, env=env, stdout=open(log / "bench-web.log", "wb"), stderr=subprocess.STDOUT,
        preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )  # fmt: skip
    for _ in range(100):
        try:
            requests.get(f"{BASE}/accounts/login/", timeout=1)
            return proc
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start: see var/log/bench-web.log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=60, help="of the crowd")
    parser.add_argument("--rounds", type=int, default=30, help="of the single student's four pages")
    parser.add_argument("--cache-url", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn's (scripts/demo.sh: 2)")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn's per worker (scripts/demo.sh: 4)")
    parser.add_argument(
        "--server-nice",
        type=int,
        default=0,
        help="run gunicorn at this niceness (e.g. -10: what the site does with the CPU it asks for, "
        "on a machine where other work takes most of it; not how the demo runs)",
    )
    args = parser.parse_args(argv)
    env = environment(args.cache_url)
    os.environ.update(env)
    fresh_database(env, args.cache_url)
    import django

    django.setup()
    people = seed(args.students)
    server = start_server(env, args.server_nice, args.workers, args.threads)
    try:
        load_before = os.getloadavg()
        alone_rows, cpu_per_page = alone(people[0], args.rounds, server.pid)
        cpu_before, db_before, started = server_cpu(server.pid), database_cpu(), time.monotonic()
        rows, client_cpu = in_processes(crowd, [people[0::2], people[1::2]], args.seconds)
        elapsed, cpu, db_cpu = (
            time.monotonic() - started,
            server_cpu(server.pid) - cpu_before,
            cpu_since(db_before),
        )
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait(30)
    counts = defaultdict(int)
    for _, _, status in rows:
        counts[status] += 1
    errors = sum(n for status, n in counts.items() if status not in (200, 304))
    nice = f", gunicorn at nice {args.server_nice}" if args.server_nice else ""
    demo = " (as scripts/demo.sh)" if (args.workers, args.threads) == (2, 4) else ""
    print(
        f"web benchmark: gunicorn {args.workers} workers x {args.threads} threads{demo}{nice}, {os.cpu_count()} cores"
    )
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min; shared machine)")
    single = report(alone_rows, "one student alone (each page in turn, one request at a time):", (0.5, 0.95))
    print(
        "  CPU per request (gunicorn + PostgreSQL): "
        + ", ".join(f"{page} {ms:.1f} ms" for page, ms in cpu_per_page.items())
    )
    many = report(rows, f"{args.students} students at once, {args.seconds:.0f} s:", (0.5, 0.95, 0.99))
    print(
        f"  requests/s {len(rows) / elapsed:.1f}; errors {errors} (statuses: {dict(sorted(counts.items()))})"
    )
    print(f"  server CPU {cpu:.1f} s ({cpu / elapsed:.2f} cores); load generator CPU {client_cpu:.1f} s "
          f"({client_cpu / elapsed:.2f} cores); PostgreSQL {db_cpu:.1f} s ({db_cpu / elapsed:.2f} cores)")  # fmt: skip
    print(f"  {len(rows) / max(cpu, 1e-9):.0f} requests per gunicorn CPU second, "
          f"{len(rows) / max(cpu + db_cpu, 1e-9):.0f} per CPU second of gunicorn and PostgreSQL")  # fmt: skip
    ratio = many["overall"][0.95] / single["overall"][0.95]
    print(f"  p95 crowd/alone: {ratio:.1f}x; crowd p95 {many['overall'][0.95]:.0f} ms (target < 200 ms)")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
