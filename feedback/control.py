"""Concurrency control for one model server, shared by every worker process on every machine
through Redis. No Django here.

AdaptiveLimiter: at most ``limit`` requests in flight (leases in a sorted set, each with an
expiry so a dead process's leases free themselves). The limit moves between a floor and a
ceiling by AIMD, the rule TCP uses for the same problem:
  - additive increase: every success adds 1/limit (about +1 per round of ``limit`` requests);
  - multiplicative decrease: a 429/503, a timeout, or the server's own queue growing
    (``vllm:num_requests_waiting`` > 0 while we are at the limit) halves it, at most once per
    ``cooldown`` seconds so that one burst of errors counts once.
vLLM answers fastest at the batch size where its queue stays empty; AIMD settles just under it.

CircuitBreaker: after ``threshold`` consecutive failures the breaker opens for ``cooldown``
seconds (callers serve fallback hints); then one caller at a time may probe; a success closes it.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid

ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = math.floor(tonumber(redis.call('GET', KEYS[2]) or ARGV[4]))
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  return 1
end
return 0
"""


class AdaptiveLimiter:
    def __init__(
        self,
        redis,
        name: str,
        floor: int,
        ceiling: int,
        initial: int | None = None,
        lease_seconds: float = 300.0,
        cooldown: float = 2.0,
    ):
        if not 1 <= floor <= ceiling:
            raise ValueError("need 1 <= floor <= ceiling")
        self.redis, self.floor, self.ceiling = redis, floor, ceiling
        self.leases, self.limit_key, self.cut_key = f"{name}:leases", f"{name}:limit", f"{name}:last_cut"
        self.lease_seconds, self.cooldown = lease_seconds, cooldown
        self.initial = min(ceiling, max(floor, initial or ceiling))
        self._acquire = redis.register_script(ACQUIRE)
        redis.set(self.limit_key, self.initial, nx=True)

    def limit(self) -> float:
        return float(self.redis.get(self.limit_key) or self.initial)

    def in_flight(self) -> int:
        self.redis.zremrangebyscore(self.leases, "-inf", time.time())
        return self.redis.zcard(self.leases)

    def try_acquire(self) -> str | None:
        lease = uuid.uuid4().hex
        now = time.time()
        got = self._acquire(
            keys=[self.leases, self.limit_key], args=[now, now + self.lease_seconds, lease, self.initial]
        )
        return lease if got else None

    async def acquire(self, timeout: float = 600.0) -> str:
        end = time.monotonic() + timeout
        while (lease := self.try_acquire()) is None:
            if time.monotonic() > end:
                raise TimeoutError("no free slot for the model server")
            await asyncio.sleep(0.01 + random.random() * 0.04)
        return lease

    def release(self, lease: str) -> None:
        self.redis.zrem(self.leases, lease)

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

    def observe_waiting(self, waiting: int) -> None:
        """The server reports its own queue: requests waiting there mean we send too many."""
        if waiting > 0:
            self.on_overload()


class CircuitBreaker:
    def __init__(self, redis, name: str, threshold: int = 5, cooldown: float = 30.0):
        self.redis, self.threshold, self.cooldown = redis, threshold, cooldown
        self.failures_key, self.open_key, self.probe_key = f"{name}:failures", f"{name}:open", f"{name}:probe"

    def is_open(self) -> bool:
        return bool(self.redis.exists(self.open_key))

    def allow(self) -> bool:
        """Closed: yes. Open: no. Cooldown over but not yet closed: one prober at a time."""
        if self.is_open():
            return False
        if int(self.redis.get(self.failures_key) or 0) >= self.threshold:
            return bool(self.redis.set(self.probe_key, 1, nx=True, ex=max(1, int(self.cooldown))))
        return True

    def record_success(self) -> None:
        self.redis.delete(self.failures_key, self.probe_key)

    def record_failure(self) -> None:
        failures = self.redis.incr(self.failures_key)
        if failures >= self.threshold:
            self.redis.set(self.open_key, 1, px=int(self.cooldown * 1000))
            self.redis.delete(self.probe_key)
