"""Several model servers (LLM_BASE_URLS): one assignment's requests go to one replica (its
prompt prefix stays cached there), each replica has its own limit and breaker, a replica that
is down or failing hands its requests to the next, and interactive hints go before regrades
through vLLM's priority."""

import asyncio
import dataclasses

import pytest
import requests

from feedback import dispatcher
from feedback.devserver import Config, Engine
from feedback.models import Feedback, Priority, Source
from tests.test_llm_prompts import request as hint_request

pytestmark = pytest.mark.django_db


def _served(server) -> float:
    return server.metrics()["vllm:request_success_total"]


def _requests(keys):
    base = hint_request()
    return [dataclasses.replace(base, assignment_key=key) for key in keys]


def test_rendezvous_order_moves_only_the_keys_of_a_server_that_leaves():
    urls = ["http://a/v1", "http://b/v1", "http://c/v1"]
    keys = [f"course/assignment-{i}" for i in range(300)]
    first = {k: urls[dispatcher.rendezvous_order(k, urls)[0]] for k in keys}
    assert set(first.values()) == set(urls)  # every server gets a share
    assert all(first[k] == urls[dispatcher.rendezvous_order(k, urls)[0]] for k in keys)  # stable
    left = [u for u in urls if u != "http://b/v1"]
    for key in keys:
        now = left[dispatcher.rendezvous_order(key, left)[0]]
        assert now == first[key] or first[key] == "http://b/v1"  # only b's keys moved


def test_an_assignments_requests_go_to_one_replica(llm, second_llm_server, settings):
    settings.LLM_BASE_URLS = [llm.url, second_llm_server.url]
    servers = {llm.url: llm, second_llm_server.url: second_llm_server}
    for key in ("cs1/add", "cs1/search", "cs2/fizz"):
        preferred = settings.LLM_BASE_URLS[dispatcher.rendezvous_order(key, settings.LLM_BASE_URLS)[0]]
        before = {url: _served(s) for url, s in servers.items()}
        outcomes = asyncio.run(dispatcher.run_all(_requests([key] * 4)))
        assert [o.kind for o in outcomes] == ["llm"] * 4
        after = {url: _served(s) for url, s in servers.items()}
        assert after[preferred] - before[preferred] == 4
        assert all(after[u] == before[u] for u in servers if u != preferred)  # the other got none


def test_a_failing_replica_hands_its_requests_to_the_next(llm, second_llm_server, settings):
    settings.LLM_BASE_URLS = [llm.url, second_llm_server.url]
    settings.LLM_BREAKER_COOLDOWN_SECONDS = 30.0  # still open when the batch ends
    key = next(
        f"cs1/a{i}"
        for i in range(100)
        if dispatcher.rendezvous_order(f"cs1/a{i}", settings.LLM_BASE_URLS)[0] == 0
    )  # an assignment whose first choice is the first server
    llm.faults(fail_503=1.0)
    before = _served(second_llm_server)
    outcomes = asyncio.run(dispatcher.run_all(_requests([key] * 5)))
    assert [o.kind for o in outcomes] == ["llm"] * 5  # answered in the same batch, by the other one
    assert _served(second_llm_server) - before == 5
    failing_breaker = dispatcher.controls(llm.url)[1]
    healthy_breaker = dispatcher.controls(second_llm_server.url)[1]
    assert failing_breaker.is_open() and not healthy_breaker.is_open()  # each server its own breaker


def test_a_replica_that_is_down_is_skipped(llm, settings):
    settings.LLM_BASE_URLS = ["http://127.0.0.1:9/v1", llm.url]  # nothing listens on port 9
    outcomes = asyncio.run(dispatcher.run_all(_requests([f"cs1/a{i}" for i in range(6)])))
    assert [o.kind for o in outcomes] == ["llm"] * 6


def test_all_replicas_down_makes_no_call_and_spends_no_try(settings, redis_client):
    """Nothing answers the check: the requests wait (deferred) without spending tries, and each
    server's status says it does not answer — down or starting, not misconfigured."""
    settings.LLM_BASE_URLS = ["http://127.0.0.1:9/v1", "http://127.0.0.1:10/v1"]
    for key in redis_client.scan_iter("llm:*"):
        redis_client.delete(key)
    outcomes = asyncio.run(dispatcher.run_all(_requests(["cs1/add"] * 2)))
    assert [o.kind for o in outcomes] == ["deferred", "deferred"]
    assert outcomes[0].error == "no model server answers"
    for url in settings.LLM_BASE_URLS:
        status = dispatcher.server_status(url).read()
        assert "does not answer" in status["unreachable"] and "problem" not in status
    assert dispatcher.model_server_problem() == ""  # the staff page does not call it a misconfiguration


def test_a_misconfigured_replica_is_named_and_skipped(llm, second_llm_server, settings):
    settings.LLM_BASE_URLS = [llm.url, second_llm_server.url]
    llm.configure(model="another-model")  # the first server no longer serves LLM_MODEL
    outcomes = asyncio.run(dispatcher.run_all(_requests([f"cs1/a{i}" for i in range(4)])))
    assert [o.kind for o in outcomes] == ["llm"] * 4  # all served by the other one
    problem = dispatcher.server_status(llm.url).read()["problem"]
    assert llm.url in problem and "another-model" in problem
    assert "problem" not in dispatcher.server_status(second_llm_server.url).read()
    assert dispatcher.model_server_problem() == ""  # hints are not paused: one server works


def test_interactive_hints_carry_their_priority(llm, failing, settings):
    settings.LLM_PRIORITY = True
    llm.configure(scheduling_policy="priority")
    interactive, bulk = failing("alice", 1), failing("bob", 1, Priority.BULK)
    seen = requests.get(llm.base + "/admin/config", timeout=5).json()["priorities_seen"]
    dispatcher.dispatch_once()
    after = requests.get(llm.base + "/admin/config", timeout=5).json()["priorities_seen"]
    assert after.get("0", 0) > seen.get("0", 0) and after.get("10", 0) > seen.get("10", 0)
    for request in (interactive, bulk):
        assert Feedback.objects.get(submission=request.submission).source == Source.LLM


def test_a_server_without_priority_scheduling_refuses_priorities_as_vllm_does(llm, failing, settings):
    """LLM_PRIORITY needs --scheduling-policy priority: without it every hint is refused (400),
    which operators see; the README says so."""
    settings.LLM_PRIORITY = True
    request = failing("bob", 1, Priority.BULK)
    dispatcher.dispatch_once()
    assert "Priority scheduling is not enabled" in dispatcher.server_status(llm.url).read()["refused"]
    assert Feedback.objects.get(submission=request.submission).source == Source.FALLBACK


def test_the_engine_admits_the_lowest_priority_value_first():
    async def admitted():
        engine = Engine(Config(max_num_seqs=1, step_ms=1, scheduling_policy="priority"))
        task = asyncio.create_task(engine.run())
        first = engine.submit("a", ["x"] * 20, priority=10)  # takes the only slot
        await asyncio.sleep(0.005)
        bulk = engine.submit("b", ["x"], priority=10)
        urgent = engine.submit("c", ["x"], priority=0)
        await asyncio.wait_for(asyncio.gather(first.done.wait(), bulk.done.wait(), urgent.done.wait()), 10)
        task.cancel()
        return urgent.ready_at <= bulk.ready_at

    assert asyncio.run(admitted())
