"""A small pool of started sandbox containers, each used for exactly one job.

Starting a container costs ~0.15 s and importing pytest in the harness ~0.1 s;
a pooled container has done both before its job arrives. A container is handed
out once and removed after its job (in the background), never reused. One pool
per process (a Celery worker child): it refills in a background thread, keyed
by image and limits, and only for keys that were asked for.
"""

from __future__ import annotations

import atexit
import logging
import socket
import threading
import time
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor

import docker
from docker.errors import DockerException
from docker.models.containers import Container

from observe.metrics import POOL_READY
from sandbox import runner
from sandbox.schema import MAX_WALL_SECONDS, Limits

log = logging.getLogger(__name__)

# What a warm container is kept for: its image, its limits (those that shape the container, as
# JSON) and whether it imports pytest while it waits.
PoolKey = tuple[str, str, bool]


class WarmPool:
    def __init__(
        self,
        size: int = 1,
        max_idle_seconds: float = 300.0,
        client: docker.DockerClient | None = None,
        runtime: str = "runc",
    ) -> None:
        self.size = size
        self.runtime = runtime
        self.max_idle = max_idle_seconds
        self._client = client
        self._ready: defaultdict[PoolKey, deque[runner.Started]] = defaultdict(deque)
        self._pending: defaultdict[PoolKey, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="sandbox-pool")
        # Removals wait on their own thread: a slow one never holds back a refill.
        self._remover = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-remove")
        self._closed = False
        atexit.register(self.close)

    @property
    def client(self) -> docker.DockerClient:
        if self._client is None:
            self._client = runner.default_client()
        return self._client

    def take(self, limits: Limits, image: str, preload_pytest: bool = False) -> runner.Started:
        """A started container for these limits: a warm one if ready, else started now.
        ``preload_pytest``: the job has pytest files (its warm container imports pytest early)."""
        shape = limits.model_copy(update={"wall_seconds": 0.0, "output_bytes": 1024}).model_dump_json()
        key: PoolKey = (image, shape, preload_pytest)
        warm = self._pop_fresh(key)
        self._refill(key, limits, image)
        return warm or runner.start(self.client, limits, image, runtime=self.runtime)

    def dispose(self, container: Container) -> None:
        """Remove a used container without making the caller wait."""
        try:
            self._remover.submit(runner.remove_container, container)
        except RuntimeError:  # closed: nothing runs in the background any more
            runner.remove_container(container)

    def _pop_fresh(self, key: PoolKey) -> runner.Started | None:
        stale = []
        with self._lock:
            queue = self._ready[key]
            found = None
            while queue and found is None:
                candidate = queue.popleft()
                POOL_READY.dec()
                if time.monotonic() - candidate.created < self.max_idle and _connected(candidate):
                    found = candidate
                else:
                    stale.append(candidate)
        for old in stale:
            self.dispose(old.container)
        return found

    def _refill(self, key: PoolKey, limits: Limits, image: str) -> None:
        with self._lock:
            missing = self.size - len(self._ready[key]) - self._pending[key]
            if missing <= 0 or self._closed:
                return
            self._pending[key] += missing
        for _ in range(missing):
            self._executor.submit(self._add, key, limits, image)

    def _add(self, key: PoolKey, limits: Limits, image: str) -> None:
        try:
            # A warm container may serve any job with these limits but another time limit (the
            # pool key leaves wall_seconds out): its janitor label must outlast the longest one.
            started = runner.start(
                self.client,
                limits.model_copy(update={"wall_seconds": MAX_WALL_SECONDS}),
                image,
                idle_seconds=self.max_idle,
                preload_pytest=key[-1],
                runtime=self.runtime,
            )
        except (DockerException, runner.SandboxError, OSError) as exc:
            log.warning("could not pre-start a sandbox container: %s", exc)
            started = None
        with self._lock:
            self._pending[key] -= 1
            if started is not None and not self._closed:
                self._ready[key].append(started)
                POOL_READY.inc()
                started = None
        if started is not None:  # closed meanwhile
            runner.remove_container(started.container)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            leftovers = [s for queue in self._ready.values() for s in queue]
            self._ready.clear()
            POOL_READY.dec(len(leftovers))
        for started in leftovers:
            runner.remove_container(started.container)
        self._executor.shutdown(wait=True)
        self._remover.shutdown(wait=True)


def _connected(started: runner.Started) -> bool:
    """False once the daemon that held the container's stdin and stdout is gone (killed,
    restarted): the container went with it, and its socket reads as closed."""
    try:
        return started.stream._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b""
    except BlockingIOError:  # nothing to read yet: the harness is waiting for its job
        return True
    except OSError:
        return False
