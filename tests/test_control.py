"""The Redis-wide adaptive limit and the circuit breaker."""

import asyncio
import multiprocessing
import time
import uuid

import pytest
import redis as redis_lib
from django.conf import settings

from feedback.control import AdaptiveLimiter, CircuitBreaker


@pytest.fixture
def name(redis_client):
    key = f"test-{uuid.uuid4().hex[:8]}"
    yield key
    for k in redis_client.scan_iter(key + "*"):
        redis_client.delete(k)


def hammer(url, name, limit, count, hold):
    """In another process: take slots, count how many are held at once (in Redis)."""
    client = redis_lib.Redis.from_url(url)
    limiter = AdaptiveLimiter(client, name, floor=limit, ceiling=limit)

    async def one():
        lease = await limiter.acquire(timeout=60)
        now = client.incr(name + ":now")
        client.execute_command(
            "EVAL",
            "if tonumber(redis.call('GET', KEYS[1]) or 0) < tonumber(ARGV[1]) then "
            "redis.call('SET', KEYS[1], ARGV[1]) end",
            1,
            name + ":max",
            now,
        )
        await asyncio.sleep(hold)
        client.decr(name + ":now")
        limiter.release(lease)

    async def main():
        await asyncio.gather(*(one() for _ in range(count)))

    asyncio.run(main())


def test_the_limit_holds_across_processes(redis_client, name):
    procs = [
        multiprocessing.get_context("spawn").Process(
            target=hammer, args=(settings.CELERY_BROKER_URL, name, 3, 12, 0.05)
        )
        for _ in range(2)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert (
        int(redis_client.get(name + ":max")) == 3
    )  # reached, never exceeded, with 24 requests from 2 processes


def test_a_dead_processs_leases_expire(redis_client, name):
    limiter = AdaptiveLimiter(redis_client, name, floor=1, ceiling=1, lease_seconds=0.2)
    assert limiter.try_acquire() is not None  # never released: its process "died"
    assert limiter.try_acquire() is None
    time.sleep(0.3)
    assert limiter.try_acquire() is not None


def test_the_limit_halves_on_overload_and_grows_back(redis_client, name):
    limiter = AdaptiveLimiter(redis_client, name, floor=2, ceiling=16, cooldown=0.2)
    assert limiter.limit() == 16
    assert limiter.on_overload() and limiter.limit() == 8
    assert not limiter.on_overload() and limiter.limit() == 8  # one cut per cooldown
    time.sleep(0.25)
    limiter.on_overload()
    time.sleep(0.25)
    limiter.on_overload()
    time.sleep(0.25)
    limiter.on_overload()
    assert limiter.limit() == 2  # the floor
    for _ in range(200):
        limiter.on_success()
    assert limiter.limit() == 16  # additive increase, capped at the ceiling


def test_the_servers_own_queue_cuts_the_limit_when_requests_keep_waiting(redis_client, name):
    limiter = AdaptiveLimiter(redis_client, name, floor=1, ceiling=8, sustain=2.0)
    limiter.observe_waiting(0, now=100.0)
    assert limiter.limit() == 8
    # A burst's prefill: requests wait for half a second, then none do. No reason to cut.
    assert not limiter.observe_waiting(5, now=100.5)
    assert not limiter.observe_waiting(0, now=101.0)
    assert limiter.limit() == 8
    # Waiting sustained for the whole window: too many in flight.
    assert not limiter.observe_waiting(5, now=110.0)
    assert not limiter.observe_waiting(5, now=111.0)
    assert limiter.observe_waiting(5, now=112.0)
    assert limiter.limit() == 3  # steps back by the excess


def test_lowering_the_ceiling_takes_effect_at_once(redis_client, name):
    """The shared limit outlives processes; a lower LLM_MAX_IN_FLIGHT must still hold."""
    grown = AdaptiveLimiter(redis_client, name, floor=1, ceiling=64)
    assert grown.limit() == 64
    lowered = AdaptiveLimiter(redis_client, name, floor=1, ceiling=4)
    assert lowered.limit() == 4
    leases = [lowered.try_acquire() for _ in range(6)]
    assert sum(lease is not None for lease in leases) == 4


def test_the_breaker_opens_probes_and_closes(redis_client, name):
    breaker = CircuitBreaker(redis_client, name, threshold=3, cooldown=0.3)
    for _ in range(2):
        breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.is_open() and not breaker.allow()
    time.sleep(0.35)
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.record_success()
    assert breaker.allow() and breaker.allow()


def test_the_breaker_ignores_scattered_failures(redis_client, name):
    breaker = CircuitBreaker(redis_client, name, threshold=5)
    for i in range(200):  # 10% failures, however they cluster in a burst's first answers
        (breaker.record_failure if i % 10 == 0 or i in (1, 2) else breaker.record_success)()
    assert not breaker.is_open() and breaker.allow()
