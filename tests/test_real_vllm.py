"""The feedback path against the real vLLM engine (CPU build, a tiny random-weight model made
locally by scripts/vllm.sh). Its words are gibberish: these tests check the path (requests end,
tokens and cached tokens are recorded, outages recover, prompts fit the real context window,
configuration problems are seen), never the wording. Few and focused: 2 CPU cores."""

import re
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from feedback import dispatcher
from feedback.models import Feedback, FeedbackRequest, RequestStatus
from tests.conftest import long_submission

pytestmark = [pytest.mark.django_db, pytest.mark.vllm, pytest.mark.slow]


def _due():
    FeedbackRequest.objects.update(not_before=timezone.now() - timedelta(seconds=1))


def _drain(rounds=6):
    for _ in range(rounds):
        _due()
        dispatcher.dispatch_once()
        if not FeedbackRequest.objects.exclude(status=RequestStatus.DONE).exists():
            return


def test_hints_go_through_the_real_engine_with_usage_and_cached_tokens(real_vllm, failing):
    first = failing("alice", 1)
    dispatcher.dispatch_once(size=1)  # alone: its shared prefix is then in the engine's cache
    rest = [failing("alice", 2), failing("bob", 1)]
    _drain()
    for request in [first, *rest]:
        request.refresh_from_db()
        feedback = Feedback.objects.get(submission=request.submission)
        assert request.status == RequestStatus.DONE, request.last_error
        # The engine answered (a model hint, or an answer the schema or guard refused): paid for.
        assert feedback.model_calls >= 1 and feedback.prompt_tokens > 0 and feedback.completion_tokens > 0
    cached = Feedback.objects.filter(submission__in=[r.submission for r in rest]).values_list(
        "cached_tokens", flat=True
    )
    assert max(cached) > 0  # --enable-prompt-tokens-details and the prefix cache at work
    status = dispatcher.server_status().read()
    assert status["max_model_len"] == "4096" and "problem" not in status  # read from /v1/models


def test_the_limit_reads_the_engines_own_queue(real_vllm):
    text = requests.get(real_vllm.url.removesuffix("/v1") + "/metrics", timeout=10).text
    assert re.search(r"^vllm:num_requests_waiting\{", text, re.M)  # labelled, as vLLM writes it
    assert dispatcher.requests_waiting(text) == 0


def test_a_long_submission_fits_the_real_context_window(real_vllm, people, assignment):
    sub, request = long_submission(assignment, people["alice"], lines=900)
    assert len(sub.files["solution.py"]) > 30_000  # far past 4,096 tokens
    _drain()
    request.refresh_from_db()
    feedback = Feedback.objects.get(submission=sub)
    assert request.status == RequestStatus.DONE and "context length" not in request.last_error
    # The engine took every call (a prompt past its window would have been a 400).
    assert feedback.model_calls >= 1 and 0 < feedback.prompt_tokens / feedback.model_calls < 4096
    assert "solution.py outside lines" in feedback.left_out


def test_a_model_name_the_engine_does_not_serve_waits_for_the_operator(real_vllm, failing, settings):
    settings.LLM_MODEL = "not-the-served-name"
    request = failing("alice")
    dispatcher.dispatch_once()
    request.refresh_from_db()
    assert request.status == RequestStatus.PENDING and request.tries == 0
    assert "grader-tiny" in dispatcher.model_server_problem()  # what the engine does serve


def test_after_an_outage_the_waiting_requests_reach_the_engine(real_vllm, failing, settings):
    """The engine stops with requests outstanding and comes back: every request then reaches
    it (no try wasted on the open breaker), and the automatic hint served meanwhile is
    replaced or kept by what the engine answered."""
    settings.LLM_MAX_TRIES = 3
    settings.LLM_BREAKER_COOLDOWN_SECONDS = 5.0  # the outage's dispatches all meet the open breaker
    requests_ = [failing("alice", n) for n in (1, 2, 3, 4)]
    real_vllm.stop()
    try:
        for _ in range(3):
            _due()
            dispatcher.dispatch_once()
        for request in requests_:
            request.refresh_from_db()
            assert request.status == RequestStatus.PENDING and request.tries <= 1, request.last_error
            assert Feedback.objects.get(submission=request.submission).model_calls == 0
    finally:
        real_vllm.start()
    _drain(rounds=10)
    for request in requests_:
        request.refresh_from_db()
        assert request.status == RequestStatus.DONE, request.last_error
        assert Feedback.objects.get(submission=request.submission).model_calls >= 1


def test_llm_report_samples_the_engine_while_it_runs(real_vllm, tmp_path):
    out = tmp_path / "report.md"
    call_command(
        "llm_report",
        "--base-url",
        real_vllm.url,
        "--model",
        real_vllm.model,
        "--concurrency",
        "2",
        "--requests",
        "2",
        "--out",
        str(out),
    )
    text = out.read_text()
    assert "| hint | 2 |" in text and "| code review | 2 |" in text
    rss = re.search(r"server processes RSS \(GB\) ([0-9.]+)", text)
    assert rss and float(rss.group(1)) > 0.5  # the engine's processes, not only the API server's
    assert re.search(r"vllm:kv_cache_usage_perc ([0-9.e-]+)", text)


@pytest.mark.docker
def test_hint_eval_runs_against_the_real_engine(real_vllm, sandbox_image, tmp_path):
    from courses import demo

    demo.seed()
    out = tmp_path / "eval.md"
    call_command(
        "hint_eval",
        "--base-url",
        real_vllm.url,
        "--model",
        real_vllm.model,
        "--limit",
        "3",
        "--out",
        str(out),
    )
    text = out.read_text()
    assert (
        "| programs | 3 |" in text and "| errors (no answer from the server) | 0 |" in text
    )  # every program reached the engine
    calls = re.search(r"\| model calls \| (\d+) \|", text)
    assert calls and int(calls.group(1)) >= 3


def test_best_of_n_and_the_critic_on_the_real_engine(real_vllm, failing, assignment):
    assignment.hint_candidates, assignment.hint_critic = 2, True
    assignment.save()
    request = failing("alice")
    _drain()
    request.refresh_from_db()
    feedback = Feedback.objects.get(submission=request.submission)
    assert request.status == RequestStatus.DONE, request.last_error
    # Two candidates per request (vLLM's n, streamed), recorded with what they cost.
    assert feedback.candidates == 2 and feedback.model_calls >= 1 and feedback.completion_tokens > 0


def test_the_engine_takes_the_requests_priority(real_vllm, failing, settings):
    """scripts/vllm.sh serves with --scheduling-policy priority, as the README's line does."""
    from feedback.models import Priority

    settings.LLM_PRIORITY = True
    request = failing("bob", 1, Priority.BULK)  # priority 10, behind students waiting
    _drain()
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and "Priority" not in request.last_error
    assert Feedback.objects.get(submission=request.submission).model_calls >= 1
