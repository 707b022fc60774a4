"""Concurrency control for one model server, shared by every worker process on every machine
through Redis. No Django here.

AdaptiveLimiter: at most ``limit`` requests in flight (leases in a sorted set, each with an
expiry so a dead process's leases free themselves). The limit moves between a floor and a
ceiling by AIMD, the rule TCP uses for the same problem:
  - additive increase: every success adds 1/limit (about +1 per round of ``limit`` requests);
  - multiplicative decrease: a 429/503, a timeout or a dropped connection halves it, at most
    once per ``cooldown`` seconds so that one burst of errors counts once;
  - queue feedback: when the server reports requests waiting (``vllm:num_requests_waiting``)
    for ``sustain`` seconds on end, the limit drops by that many (same cooldown): those
    requests bought no throughput, only time to first token. A burst's prefill makes requests
    wait for a fraction of a second even far below the server's batch size; that alone is no
    reason to cut.
The limit lives in Redis (shared) but always within the current floor and ceiling: lowering
``LLM_MAX_IN_FLIGHT`` takes effect at once.
vLLM serves the most tokens per second with its batch full (``--max-num-seqs``) and its queue
empty; the rule settles there: it climbs until requests wait, then steps back by the excess.

CircuitBreaker: when at least ``threshold`` of the last ``2 * threshold`` calls failed, the
breaker opens for ``cooldown`` seconds (callers serve fallback hints); then one caller at a
time may probe; a successful probe closes it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redis import Redis

ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = math.floor(tonumber(redis.call('GET', KEYS[2]) or ARGV[4]))
limit = math.max(tonumber(ARGV[6]), math.min(limit, tonumber(ARGV[5])))
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
"""


class AdaptiveLimiter:
    def __init__(
        self,
        redis: Redis,
        name: str,
        floor: int,
        ceiling: int,
        initial: int | None = None,
        lease_seconds: float = 300.0,
        cooldown: float = 2.0,
        sustain: float = 2.0,
    ) -> None:
        if not 1 <= floor <= ceiling:
            raise ValueError("need 1 <= floor <= ceiling")
        self.redis, self.floor, self.ceiling = redis, floor, ceiling
        self.leases, self.limit_key, self.cut_key = f"{name}:leases", f"{name}:limit", f"{name}:last_cut"
        self.waiting_key = f"{name}:waiting_since"
        self.lease_seconds, self.cooldown, self.sustain = lease_seconds, cooldown, sustain
        self.initial = min(ceiling, max(floor, initial or ceiling))
        self._acquire = redis.register_script(ACQUIRE)
        redis.set(self.limit_key, self.initial, nx=True)
        # Made on first use, inside the event loop that runs the requests.
        self._turn: asyncio.Lock | None = None
        self._freed: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def limit(self) -> float:
        """The shared limit, within this process's floor and ceiling (settings may have changed
        since it was stored)."""
        stored = float(self.redis.get(self.limit_key) or self.initial)
        return min(float(self.ceiling), max(float(self.floor), stored))

    def in_flight(self) -> int:
        self.redis.zremrangebyscore(self.leases, "-inf", time.time())
        return self.redis.zcard(self.leases)

    def try_acquire(self) -> str | None:
        lease = uuid.uuid4().hex
        now = time.time()
        got = self._acquire(
            keys=[self.leases, self.limit_key],
            args=[now, now + self.lease_seconds, lease, self.initial, self.ceiling, self.floor],
        )
        return lease if got else None

    async def acquire(self, timeout: float = 600.0) -> str:
        """A slot, in arrival order. Only the first waiter of this limiter polls Redis; the others
        wait their turn on a local lock (hundreds of polling coroutines would keep the event loop
        busy with Redis round trips instead of the streams). A slot this process frees wakes the
        poller at once; slots other processes free are seen at the next poll (10-50 ms)."""
        end = time.monotonic() + timeout
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # asyncio primitives belong to one event loop
            self._turn, self._freed, self._loop = asyncio.Lock(), asyncio.Event(), loop
        assert self._freed is not None and self._turn is not None
        async with self._turn:
            while (lease := self.try_acquire()) is None:
                if time.monotonic() > end:
                    raise TimeoutError("no free slot for the model server")
                self._freed.clear()
                try:
                    await asyncio.wait_for(self._freed.wait(), 0.01 + random.random() * 0.04)
                except TimeoutError:
                    pass
            return lease

    def release(self, lease: str) -> None:
        self.redis.zrem(self.leases, lease)
        if self._freed is not None:
            self._freed.set()

    def on_success(self) -> None:
        limit = self.limit()
        if limit < self.ceiling:
            self.redis.set(self.limit_key, min(self.ceiling, limit + 1.0 / limit))

    def on_overload(self) -> bool:
        """Halve the limit (not below the floor), once per cooldown. True if it was cut."""
        if not self.redis.set(self.cut_key, 1, nx=True, px=int(self.cooldown * 1000)):
            return False
        self.redis.set(self.limit_key, max(float(self.floor), self.limit() / 2))
        return True

    def observe_waiting(self, waiting: int, now: float | None = None) -> bool:
        """The server reports its own queue: requests waiting there *sustained* mean we send too
        many. True if the limit was cut."""
        now = time.time() if now is None else now
        if waiting <= 0:
            self.redis.delete(self.waiting_key)
            return False
        self.redis.set(self.waiting_key, now, nx=True)
        since = float(self.redis.get(self.waiting_key) or now)
        if now - since < self.sustain:
            return False
        if not self.redis.set(self.cut_key, 1, nx=True, px=int(self.cooldown * 1000)):
            return False
        self.redis.set(self.limit_key, max(float(self.floor), self.limit() - waiting))
        return True


class CircuitBreaker:
    """Opens when at least ``threshold`` of the last ``2 * threshold`` calls failed.

    A failure *rate*, not a run of consecutive failures: errors come back at once while
    successes take seconds, so a handful of early 503s in a burst must not stop traffic.
    A server that is down fails everything and opens the breaker after ``threshold`` calls.
    """

    def __init__(self, redis: Redis, name: str, threshold: int = 10, cooldown: float = 30.0) -> None:
        self.redis, self.threshold, self.window, self.cooldown = redis, threshold, 2 * threshold, cooldown
        self.outcomes_key, self.open_key, self.probe_key = f"{name}:outcomes", f"{name}:open", f"{name}:probe"

    def failures(self) -> int:
        return self.redis.lrange(self.outcomes_key, 0, -1).count(b"1")

    def is_open(self) -> bool:
        return bool(self.redis.exists(self.open_key))

    def allow(self) -> bool:
        """Closed: yes. Open: no. Cooldown over but not yet closed: one prober at a time."""
        if self.is_open():
            return False
        if self.failures() >= self.threshold:
            return bool(self.redis.set(self.probe_key, 1, nx=True, ex=max(1, int(self.cooldown))))
        return True

    def record_success(self) -> None:
        if self.redis.delete(self.probe_key):  # the probe worked: close, forget the failures
            self.redis.delete(self.outcomes_key)
            return
        self._push(b"0")

    def record_failure(self) -> None:
        self._push(b"1")
        if self.failures() >= self.threshold:
            self.redis.set(self.open_key, 1, px=int(self.cooldown * 1000))
            self.redis.delete(self.probe_key)

    def _push(self, outcome: bytes) -> None:
        pipe = self.redis.pipeline()
        pipe.lpush(self.outcomes_key, outcome)
        pipe.ltrim(self.outcomes_key, 0, self.window - 1)
        pipe.execute()


class ServerStatus:
    """What an operator must see about the model server, shared through Redis: the last check
    of ``/v1/models`` (models served, context length), a configuration problem that stops
    every model hint (wrong model name, API key or URL: the server answers 401/403/404) until
    it is fixed, and the last request the server refused (400: a prompt it would not take)."""

    def __init__(self, redis: Redis, name: str) -> None:
        self.redis, self.key = redis, name + ":status"

    def checked(self, models: list[str], max_model_len: int | None, problem: str = "") -> None:
        self.redis.hset(
            self.key,
            mapping={
                "checked_at": time.time(),
                "models": ", ".join(models)[:1000],
                "max_model_len": max_model_len or "",
            },
        )
        self.redis.hdel(self.key, "unreachable", "unreachable_at")
        if problem:
            self.config_problem(problem)
        else:
            self.redis.hdel(self.key, "problem", "problem_at")

    def unreachable(self, message: str) -> None:
        """The server did not answer the last check: down or starting, not misconfigured."""
        self.redis.hset(self.key, mapping={"unreachable": message[:1000], "unreachable_at": time.time()})

    def config_problem(self, message: str) -> None:
        self.redis.hset(self.key, mapping={"problem": message[:1000], "problem_at": time.time()})

    def refused(self, message: str) -> None:
        self.redis.hset(self.key, mapping={"refused": message[:1000], "refused_at": time.time()})
        self.redis.hincrby(self.key, "refused_count", 1)

    def answered(self) -> None:
        """A model answer arrived: whatever configuration problem there was is gone."""
        self.redis.hdel(self.key, "problem", "problem_at", "unreachable", "unreachable_at")

    def read(self) -> dict[str, str]:
        raw = self.redis.hgetall(self.key)
        return {_text(k): _text(v) for k, v in raw.items()}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
