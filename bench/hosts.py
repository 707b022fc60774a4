"""Two grading hosts on one machine: the main Docker daemon (host A) and a second daemon that
this module starts (host B), each with its own grading worker.

    python -m bench.hosts [--n 40]

Three rounds of N submissions (a deadline burst, all queued at once), on a database of its own:
one host; two hosts; two hosts with host B's daemon killed (SIGKILL) in the middle of the burst
and started again. Printed: drain time, submissions per minute, per-host counts, platform
failures counted, lost (never graded) and graded-twice counts (both must be 0), and the ratio
of two hosts to one. Both daemons share this machine's two cores, so the second host adds
parallel container starts and worker processes, not CPU.

tests/test_grading_hosts.py uses DockerDaemon and start_worker for the same topology.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin"
DB = "grader_bench_hosts"
DEFAULT_BROKER = "redis://127.0.0.1:6379/13"
STATE = Path("/var/lib/grader-hosts")  # data roots, kept between runs (the loaded image stays)
RUN = Path("/run/grader-hosts")  # sockets, pid files and the daemon's runtime state


class DockerDaemon:
    """A second dockerd beside the main one: its own socket, data root, exec root, pid file and
    containerd (started by dockerd under the exec root, in namespaces of its own), no bridge
    network and no iptables rules, and a configuration file of its own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.data = STATE / name
        self.run = RUN / name
        self.socket = self.run / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.log = self.data.parent / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90.0) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.run.mkdir(parents=True, exist_ok=True)
        config = self.run / "daemon.json"
        config.write_text("{}\n")
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    "dockerd",
                    "--config-file",
                    str(config),
                    "--host",
                    self.url,
                    "--data-root",
                    str(self.data / "data"),
                    "--exec-root",
                    str(self.run / "exec"),
                    "--pidfile",
                    str(self.run / "docker.pid"),
                    "--bridge=none",
                    "--iptables=false",
                    "--ip6tables=false",
                    "--containerd-namespace",
                    f"grader-{self.name}",
                    "--containerd-plugins-namespace",
                    f"grader-{self.name}-plugins",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        end = time.monotonic() + timeout
        while not self.answers():
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError(f"dockerd {self.name} did not start; see {self.log}")
            time.sleep(0.3)

    def answers(self) -> bool:
        return self.docker("version", check=False).returncode == 0

    def docker(self, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", "-H", self.url, *args], check=check, capture_output=True, **kwargs)

    def load(self, tag: str) -> None:
        """The image from the main daemon, unless this one has it already (kept between runs)."""
        if self.docker("image", "inspect", tag, check=False).returncode == 0:
            return
        save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "-H", self.url, "load", "-q"], stdin=save.stdout, check=True, capture_output=True
        )
        if save.wait() != 0:
            raise RuntimeError(f"docker save {tag} failed")

    def kill(self) -> None:
        """SIGKILL, as a crashed daemon: no clean-up of its containers or connections."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # Its containerd and shims outlive a killed dockerd: found by their paths, ended by pid.
        for process in psutil.process_iter(["pid", "cmdline"]):
            if any(str(self.run) in part for part in process.info["cmdline"] or []):
                process.kill()
        shutil.rmtree(self.run, ignore_errors=True)


def start_worker(name: str, env: dict, docker_host: str | None, log_path: Path, concurrency: int = 2):
    """A grading worker (queues grading, regrading) named ``name@<this host>``, whose containers
    run on ``docker_host`` (None: the main daemon); returns the process once it is ready."""
    worker_env = dict(env)
    worker_env.pop("DOCKER_HOST", None)
    if docker_host:
        worker_env["DOCKER_HOST"] = docker_host
    log = open(log_path, "ab")  # noqa: SIM115 - the worker writes to it for its whole life
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "grader", "worker", "-Q", "grading,regrading"]
        + ["--concurrency", str(concurrency), "--without-gossip", "--without-mingle", "--loglevel", "INFO"]
        + ["-n", f"{name}@%h"],
        cwd=ROOT,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    end = time.monotonic() + 90
    while b"ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > end:
            raise RuntimeError(f"worker {name} did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.2)
    return proc


def stop_worker(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pids(proc: subprocess.Popen) -> set[int]:
    """The worker and its pool processes (Submission.worker ends with the pid that claimed)."""
    try:
        return {proc.pid} | {child.pid for child in psutil.Process(proc.pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def claimed_by(worker: str, host_pids: set[int]) -> bool:
    return int(worker.rsplit(":", 1)[1]) in host_pids


# -- the benchmark ---------------------------------------------------------------------------
def environment(broker: str) -> dict:
    return dict(
        os.environ,
        DATABASE_URL=f"postgres://grader:grader@127.0.0.1:5432/{DB}",
        CELERY_BROKER_URL=broker,
        DJANGO_SETTINGS_MODULE="grader.settings",
        SANDBOX_POOL_SIZE="1",
        LOG_LEVEL="WARNING",
    )


def fresh_database(env: dict) -> None:
    for sql in (f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", f"CREATE DATABASE {DB} OWNER grader"):
        subprocess.run(["runuser", "-u", "postgres", "--", "psql", "-qc", sql], check=True)
    subprocess.run([PY / "python", "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)


def seed(students: int):
    """A course with a three-test assignment and its students (users made here, no HTTP)."""
    from django.contrib.auth import get_user_model

    from courses.models import Assignment, Course, Membership, Role, TestCase

    course = Course.objects.create(code="hosts", title="Hosts")
    assignment = Assignment.objects.create(course=course, slug="add", title="Add", published=True)
    for order, (expr, expected) in enumerate(
        [("add(1, 2)", "3"), ("add(10, 20)", "30"), ("add(-1, 1)", "0")]
    ):
        TestCase.objects.create(
            assignment=assignment,
            name=f"t{order}",
            kind="expr",
            points=1,
            order=order,
            spec={"expr": expr, "expected": expected},
            time_limit=5,
        )
    people = []
    for i in range(students):
        user = get_user_model().objects.create_user(f"student{i}")
        Membership.objects.create(user=user, course=course, role=Role.STUDENT)
        people.append(user)
    return assignment, people


CODE = "def add(a, b):\n    return a + b\n"


def run_round(label, assignment, people, n, b_pids, daemon_b=None) -> dict:
    """N submissions at once; with ``daemon_b``, host B's daemon is killed once a third of the
    burst is graded and started again once another third is."""
    from grading.models import Status, Submission
    from grading.services import Upload, do_submit

    started = time.monotonic()
    ids = [
        do_submit(people[i % len(people)], assignment, [Upload("solution.py", CODE.encode())]).pk
        for i in range(n)
    ]
    done = Submission.objects.filter(pk__in=ids, status__in=[Status.GRADED, Status.ERROR, Status.REJECTED])
    killed = restarted = False
    end = started + 600
    while done.count() < n and time.monotonic() < end:
        graded = done.count()
        if daemon_b and not killed and graded >= n // 3:
            daemon_b.kill()
            killed = True
        if daemon_b and killed and not restarted and graded >= 2 * n // 3:
            daemon_b.start()
            restarted = True
        time.sleep(0.05)
    drain = time.monotonic() - started
    if daemon_b and not restarted:
        daemon_b.start()
    rows = Submission.objects.filter(pk__in=ids)
    graded = rows.filter(status=Status.GRADED, score=3)
    on_b = sum(1 for worker in graded.values_list("worker", flat=True) if claimed_by(worker, b_pids))
    return {
        "round": label,
        "drain_s": round(drain, 1),
        "per_min": round(60 * graded.count() / drain, 1),
        "host_a": graded.count() - on_b,
        "host_b": on_b,
        "failures_counted": sum(rows.values_list("infra_failures", flat=True)),
        "lost": n - graded.count(),
        "twice": sum(1 for s in rows if s.events.filter(status=Status.GRADED).count() > 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--n", type=int, default=40, help="submissions per round")
    parser.add_argument("--broker", default=DEFAULT_BROKER, help="a Redis database of its own (flushed)")
    args = parser.parse_args(argv)
    env = environment(args.broker)
    os.environ.update(env)
    fresh_database(env)
    subprocess.run(
        [PY / "python", "-c", f"import redis; redis.Redis.from_url({args.broker!r}).flushdb()"], check=True
    )
    import django

    django.setup()
    from grading.run import image_tag

    tag = image_tag()
    env["SANDBOX_IMAGE"] = tag
    assignment, people = seed(8)
    logs = Path(f"/tmp/bench-hosts-{os.getpid()}")
    logs.mkdir(exist_ok=True)
    daemon_b = DockerDaemon("bench-b")
    daemon_b.start()
    workers = []
    try:
        daemon_b.load(tag)
        workers.append(start_worker(f"host-a-{uuid.uuid4().hex[:6]}", env, None, logs / "a.log"))
        rows = [run_round("one host", assignment, people, args.n, set())]
        workers.append(start_worker(f"host-b-{uuid.uuid4().hex[:6]}", env, daemon_b.url, logs / "b.log"))
        b_pids = pids(workers[-1])
        rows.append(run_round("two hosts", assignment, people, args.n, b_pids))
        time.sleep(1)  # the warm pools refill
        rows.append(run_round("two hosts, B's daemon killed", assignment, people, args.n, b_pids, daemon_b))
    finally:
        for worker in workers:
            stop_worker(worker)
        daemon_b.stop()
    print(f"{args.n} submissions per round, 2 pool processes per host; worker logs in {logs}")
    print(
        f"{'round':32} {'drain s':>8} {'per min':>8} {'host A':>7} {'host B':>7} {'failures':>9} {'lost':>5} {'twice':>6}"
    )
    for row in rows:
        print(
            f"{row['round']:32} {row['drain_s']:>8} {row['per_min']:>8} {row['host_a']:>7} {row['host_b']:>7}"
            f" {row['failures_counted']:>9} {row['lost']:>5} {row['twice']:>6}"
        )
    print(f"two hosts / one host throughput: {rows[1]['per_min'] / rows[0]['per_min']:.2f}x")
    return 0 if all(row["lost"] == 0 and row["twice"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
