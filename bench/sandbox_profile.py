"""Where the time and CPU of one sandboxed submission go (bench/sandbox's assignment).

    python -m bench.sandbox_profile [--n 30] [--perf]

Runs the same submissions three ways, one at a time: the bare harness (no container), fresh
containers and pooled containers; for each, per submission:
  - Docker API calls, by method and path (a response hook on the SDK's HTTP session);
  - milliseconds per phase (taking/starting the container, the exchange with the harness,
    removing it; the pool's removal runs off the caller's path);
  - CPU milliseconds of dockerd and containerd (their /proc/<pid>/stat ticks), of the
    container's own processes (its cpuacct cgroup, read before removal), of this process (the
    runner and the docker SDK) and of the whole machine (/proc/stat; other people's load
    included, so read it next to `uptime`);
  - with --perf, a system-wide `perf record -e cpu-clock` per mode, summed by command name
    (containerd-shim, runc, kworker... come and go too fast for /proc polling).
The machine is shared: compare the modes of one run, repeat runs, and note the load printed.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from docker.api.client import APIClient

import sandbox
from bench.sandbox import bench_job, run_bare
from sandbox import image, runner
from sandbox.pool import WarmPool

TICK = os.sysconf("SC_CLK_TCK")
CPUACCT = Path("/sys/fs/cgroup/cpuacct/docker")


def _daemons() -> tuple[int | None, int | None]:
    """The default dockerd (its pid file: other daemons may run beside it) and its containerd."""
    try:
        dockerd = int(Path("/var/run/docker.pid").read_text())
    except (OSError, ValueError):
        return None, None
    out = subprocess.run(["pgrep", "-P", str(dockerd), "-x", "containerd"], capture_output=True, text=True)
    return dockerd, (int(out.stdout.split()[0]) if out.stdout.split() else None)


def _proc_cpu_ms(pid: int | None) -> float:
    """utime + stime + the same of the children it reaped (dockerd execs runc, docker-init)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) * 1000 / TICK


def become_subreaper() -> None:
    """The bare harness's spawner outlives it (it exits when the harness has gone) and takes the
    students' processes' CPU with it: as their subreaper this process collects it, so the bare
    figure counts the same processes as the container's."""
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def reap_orphans() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _machine_busy_ms() -> float:
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) * 1000 / TICK


def _self_cpu_ms() -> float:
    t = os.times()
    return (t.user + t.system) * 1000


class ApiCounter:
    """Counts every HTTP request any docker SDK client of this process sends (the version
    check of a new client and the attach included)."""

    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._send = APIClient.send

    def install(self) -> None:
        counter, send = self, self._send

        def counted(session, request, **kwargs):
            path = re.sub(r"/v[\d.]+/", "/", request.path_url.split("?")[0])
            path = re.sub(r"[0-9a-f]{64}", "{id}", path)
            with counter._lock:
                counter.calls[f"{request.method} {path}"] += 1
            return send(session, request, **kwargs)

        APIClient.send = counted

    def uninstall(self) -> None:
        APIClient.send = self._send


class Watch(threading.Thread):
    """Polls one container's cpuacct cgroup and its containerd-shim every 20 ms while they live
    (both vanish when it is removed: the last reading before that is kept). The shim outlives
    the container's processes until the removal, and its children's CPU (runc, and the
    container's processes it reaped) is complete by then."""

    def __init__(self, container_id: str) -> None:
        super().__init__(daemon=True)
        self.cid, self.stop = container_id, threading.Event()
        self.cgroup_ms = self.shim_ms = self.shim_children_ms = 0.0

    def run(self) -> None:
        shim = None
        usage = CPUACCT / self.cid / "cpuacct.usage"
        while not self.stop.is_set():
            try:
                self.cgroup_ms = max(self.cgroup_ms, int(usage.read_text()) / 1e6)
            except (OSError, ValueError):
                pass
            if shim is None:
                found = subprocess.run(
                    ["pgrep", "-f", "--", f"-id {self.cid}"], capture_output=True, text=True
                )
                shim = int(found.stdout.split()[0]) if found.stdout.split() else None
                if shim is None:
                    self.stop.wait(0.02)  # pgrep costs CPU too: look for the shim less often
            if shim is not None:
                try:
                    f = Path(f"/proc/{shim}/stat").read_text().rsplit(")", 1)[1].split()
                    self.shim_ms = (int(f[11]) + int(f[12])) * 1000 / TICK
                    self.shim_children_ms = (int(f[13]) + int(f[14])) * 1000 / TICK
                except (OSError, IndexError):
                    pass
            self.stop.wait(0.02)


class Phases:
    """Wraps runner's steps to time them and to watch each container's CPU until removal."""

    def __init__(self) -> None:
        self.ms: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.cpu: collections.defaultdict[str, float] = collections.defaultdict(float)
        self.watches: dict[str, Watch] = {}
        self._lock = threading.Lock()
        self._originals = (runner.start, runner.exchange, runner.remove_container, WarmPool.take)

    def install(self) -> None:
        start, exchange, remove, take = self._originals

        def timed(name, fn):
            def wrapper(*args, **kwargs):
                t = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    with self._lock:
                        self.ms[name] += (time.perf_counter() - t) * 1000

            return wrapper

        def start_watched(*args, **kwargs):
            started = timed("create+attach+start", start)(*args, **kwargs)
            watch = Watch(str(started.container.id))
            watch.start()
            with self._lock:
                self.watches[watch.cid] = watch
            return started

        def remove_watched(container):
            timed("remove (off path when pooled)", remove)(container)
            with self._lock:
                watch = self.watches.pop(str(container.id), None)
            if watch is not None:
                watch.stop.set()
                watch.join()
                with self._lock:
                    self.cpu["container (harness + student, cgroup)"] += watch.cgroup_ms
                    self.cpu["containerd-shim (own)"] += watch.shim_ms
                    self.cpu["shim's children (runc + container, reaped)"] += watch.shim_children_ms

        runner.start = start_watched
        runner.exchange = timed("exchange (job in, result out)", exchange)
        runner.remove_container = remove_watched
        WarmPool.take = timed("pool.take (caller waits)", take)

    def uninstall(self) -> None:
        runner.start, runner.exchange, runner.remove_container, WarmPool.take = self._originals


def profile(mode: str, n: int, tag: str, use_perf: bool) -> dict:
    """``n`` submissions one at a time, through the production path (no client passed in)."""
    jobs = [bench_job(i % 2 == 0) for i in range(n)]
    pool = WarmPool(size=1) if mode == "pooled" else None
    counter = ApiCounter()
    counter.install()
    phases = Phases()
    phases.install()
    if pool is not None:
        sandbox.run(jobs[0], tag, pool=pool)  # fills the pool
        time.sleep(1.5)
    dockerd, containerd = _daemons()
    counter.calls.clear()
    phases.ms.clear()
    phases.cpu.clear()
    perf = None
    perf_file = Path(tempfile.mkdtemp(prefix="grader-perf-")) / "perf.data"
    if use_perf:
        perf = subprocess.Popen(
            ["perf", "record", "-a", "-e", "cpu-clock", "-F", "499", "-o", str(perf_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(0.5)
    before = (_proc_cpu_ms(dockerd), _proc_cpu_ms(containerd), _self_cpu_ms(), _machine_busy_ms())
    children = os.times()
    started = time.perf_counter()
    for job in jobs:
        if mode == "bare":
            run_bare(job)
            reap_orphans()
        else:
            result = sandbox.run(job, tag, pool=pool)
            if result.status != sandbox.RunStatus.OK:
                raise SystemExit(f"{mode}: {result.message}")
    if pool is not None:
        pool.close()  # waits for the background removals, so their cost is counted
    wall = time.perf_counter() - started
    after = (_proc_cpu_ms(dockerd), _proc_cpu_ms(containerd), _self_cpu_ms(), _machine_busy_ms())
    children_after = os.times()
    phases.uninstall()
    counter.uninstall()
    by_comm: dict[str, float] = {}
    if perf is not None:
        perf.send_signal(2)
        perf.wait()
        report = subprocess.run(
            ["perf", "report", "-i", str(perf_file), "--sort", "comm", "--stdio", "-F", "sample,comm"],
            capture_output=True,
            text=True,
        ).stdout
        for line in report.splitlines():
            parts = line.split(None, 1)
            if len(parts) == 2 and parts[0].isdigit():
                by_comm[parts[1].strip()] = int(parts[0]) * 1000 / 499 / n  # ms per submission
        perf_file.unlink(missing_ok=True)
    bare_child_ms = (
        (children_after.children_user + children_after.children_system)
        - (children.children_user + children.children_system)
    ) * 1000
    return {
        "mode": mode,
        "n": n,
        "wall_ms": wall * 1000 / n,
        "wall_s": wall,
        "api": {k: v / n for k, v in sorted(counter.calls.items())},
        "phases": {k: v / n for k, v in phases.ms.items()},
        "cpu": {
            "dockerd": (after[0] - before[0]) / n,
            "containerd": (after[1] - before[1]) / n,
            **{k: v / n for k, v in phases.cpu.items()},
            "bare harness (its processes, spawner and students included)": bare_child_ms / n,
            "this process (runner, docker SDK)": (after[2] - before[2]) / n,
            "whole machine": (after[3] - before[3]) / n,
        },
        "perf": by_comm,
    }


def print_profile(row: dict) -> None:
    print(f"\n== {row['mode']}: {row['n']} submissions, one at a time; {row['wall_ms']:.0f} ms each")
    if row["api"]:
        total = sum(row["api"].values())
        print(f"  Docker API calls per submission: {total:.1f}")
        for call, count in row["api"].items():
            print(f"    {count:5.2f}  {call}")
    if row["phases"]:
        print("  ms per submission, by phase:")
        for name, ms in row["phases"].items():
            print(f"    {ms:7.1f}  {name}")
    print("  CPU ms per submission:")
    for name, ms in row["cpu"].items():
        if ms:
            print(f"    {ms:7.1f}  {name}")
    if row["perf"]:
        print("  perf cpu-clock, ms per submission by command (whole machine, top 12):")
        for comm, ms in sorted(row["perf"].items(), key=lambda kv: -kv[1])[:12]:
            print(f"    {ms:7.1f}  {comm}")


def cpu_budget(rows: list[dict]) -> None:
    """What one submission costs in CPU, all processes on its path, per mode; on a machine with
    nothing else to do, throughput with as many workers as cores goes as the inverse of it.
    dockerd and containerd serve other people's containers too: their rate while the bare
    harness ran (no Docker call of ours) is taken off the container modes."""
    bare = next((r for r in rows if r["mode"] == "bare"), None)
    if bare is None:
        return
    background = {d: bare["cpu"][d] * bare["n"] / bare["wall_s"] for d in ("dockerd", "containerd")}
    bare_ms = (
        bare["cpu"]["bare harness (its processes, spawner and students included)"]
        + bare["cpu"]["this process (runner, docker SDK)"]
    )
    print("\n== CPU per submission, every process on its path (ms)")
    print(f"  bare: {bare_ms:.0f} (the harness and its children, and this process)")
    for row in rows:
        if row["mode"] == "bare":
            continue
        cpu = row["cpu"]
        parts = {
            "container processes + runc (the shim's reaped children)": cpu.get(
                "shim's children (runc + container, reaped)", 0.0
            ),
            "containerd-shim": cpu.get("containerd-shim (own)", 0.0),
            **{
                f"{d} (less its background rate)": max(0.0, cpu[d] - background[d] * row["wall_s"] / row["n"])
                for d in ("dockerd", "containerd")
            },
            "this process (runner, docker SDK)": cpu["this process (runner, docker SDK)"],
        }
        total = sum(parts.values())
        print(f"  {row['mode']}: {total:.0f}  -> CPU-bound throughput vs bare: {bare_ms / total:.2f}")
        for name, ms in parts.items():
            print(f"    {ms:7.1f}  {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--perf", action="store_true", help="also sample the whole machine with perf")
    parser.add_argument(
        "--modes", default="bare,fresh,pooled", help="bare first: its daemon rates are the background"
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("run as root (as bench.sandbox)")
    tag = image.ensure()
    become_subreaper()
    sandbox.run(bench_job(True), tag)  # warm-up
    print(f"image {tag}; load before: {os.getloadavg()[0]:.2f}")
    rows = []
    for mode in args.modes.split(","):
        rows.append(profile(mode, args.n, tag, args.perf))
        print_profile(rows[-1])
        print(f"  load after: {os.getloadavg()[0]:.2f}")
    cpu_budget(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
