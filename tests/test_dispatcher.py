"""The dispatcher against the dev server: batches, priorities, outages, lost workers."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from feedback import dispatcher
from feedback.models import Feedback, FeedbackRequest, Priority, RequestStatus, Source
from feedback.services import model_usage

pytestmark = pytest.mark.django_db


def test_it_turns_a_batch_into_model_hints(llm, failing):
    requests = [failing("alice", n) for n in (1, 2, 3)] + [failing("bob", n) for n in (1, 2)]
    assert dispatcher.dispatch_once() == 5
    for request in requests:
        request.refresh_from_db()
        feedback = request.submission.feedback
        assert request.status == RequestStatus.DONE and feedback.source == Source.LLM
        assert feedback.prompt_tokens > 0 and feedback.completion_tokens > 0 and feedback.ttft_seconds > 0
        assert "-10" not in feedback.hint and "30" not in feedback.hint  # the hidden test's values
    assert Feedback.objects.filter(cached_tokens__gt=0).count() >= 4  # the shared prefix, served from cache


def test_interactive_requests_go_before_bulk_ones(llm, failing):
    bulk = [failing("alice", n, Priority.BULK) for n in (1, 2)]
    interactive = failing("bob")
    assert dispatcher.claim_batch(1) == [interactive.pk]
    assert dispatcher.claim_batch(5) == [b.pk for b in bulk]


def test_an_outage_serves_fallback_hints_now_and_model_hints_later(llm, failing, redis_client):
    requests = [failing("alice", n) for n in (1, 2, 3, 4)]
    llm.faults(fail_503=1.0)
    dispatcher.dispatch_once()
    limiter, breaker = dispatcher.controls()
    assert limiter.limit() == 4 and breaker.is_open()
    for request in requests:
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING and request.not_before > timezone.now()
        assert request.submission.feedback.source == Source.FALLBACK  # the student is not left waiting

    llm.faults()
    time.sleep(0.6)  # the breaker's cooldown: one probe may go (half-open), the others back off again
    for _ in range(4):  # a few rounds: the probe's, then the others' (a slow machine may need more)
        FeedbackRequest.objects.update(not_before=timezone.now())  # their backoff has passed
        dispatcher.dispatch_once()
        if not FeedbackRequest.objects.exclude(status=RequestStatus.DONE).exists():
            break
        time.sleep(0.6)
    for request in requests:
        request.refresh_from_db()
        assert request.status == RequestStatus.DONE
        assert Feedback.objects.get(submission=request.submission).source == Source.LLM
    assert not breaker.is_open()


def test_after_the_last_try_the_fallback_stays(llm, failing, settings):
    settings.LLM_MAX_TRIES = 1
    request = failing("alice")
    llm.faults(fail_429=1.0)
    dispatcher.dispatch_once()
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and "RateLimitError" in request.last_error
    assert request.submission.feedback.source == Source.FALLBACK


def test_a_worker_dying_mid_batch_loses_nothing(llm, failing):
    request = failing("alice")
    assert dispatcher.claim_batch(10) == [request.pk]  # ...and the worker dies here
    assert dispatcher.dispatch_once() == 0  # not claimable while its lease runs
    FeedbackRequest.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert dispatcher.release_expired_leases() == 1
    assert dispatcher.dispatch_once() == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.submission.feedback.source == Source.LLM


def test_without_a_model_or_with_hints_off_it_serves_the_fallback(settings, failing, assignment):
    settings.LLM_BASE_URL = ""
    request = failing("alice")
    assert dispatcher.dispatch_once() == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.submission.feedback.source == Source.FALLBACK


def test_schema_invalid_answers_are_retried_once_then_the_fallback_is_served(llm, failing):
    request = failing("alice")
    llm.faults(invalid_json=1.0)
    assert dispatcher.dispatch_once() == 1
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and "InvalidAnswer" in request.last_error
    assert request.submission.feedback.source == Source.FALLBACK
    # The two calls were paid for: their tokens count although the student sees the automatic hint.
    spent = request.submission.feedback
    assert spent.model_calls == 2 and spent.prompt_tokens > 0 and spent.completion_tokens > 0
    usage = model_usage(Feedback.objects.all())
    assert (usage["hints"], usage["calls"], usage["prompt"]) == (0, 2, spent.prompt_tokens)


def test_requests_the_open_breaker_refuses_keep_their_tries(llm, failing, settings):
    """An outage must not use up the requests' tries: a request the breaker refuses made no call.
    Once the server is back, every one gets a model hint."""
    settings.LLM_MAX_TRIES = 2
    # Long enough that the outage's dispatches below all meet the open breaker, however slow
    # the machine (each batch first asks the server what it serves).
    settings.LLM_BREAKER_COOLDOWN_SECONDS = 3.0
    requests = [failing("alice", n) for n in (1, 2, 3, 4)]
    llm.faults(fail_503=1.0)
    dispatcher.dispatch_once()  # one try each; the breaker opens
    _, breaker = dispatcher.controls()
    assert breaker.is_open()
    for _ in range(3):  # the outage goes on: dispatches while the breaker is open
        FeedbackRequest.objects.update(not_before=timezone.now())
        dispatcher.dispatch_once()
    for request in requests:
        request.refresh_from_db()
        assert (request.status, request.tries) == (RequestStatus.PENDING, 1), request.last_error
    llm.faults()
    time.sleep(3.1)  # cooldown over: half-open, one probe
    for _ in range(3):
        FeedbackRequest.objects.update(not_before=timezone.now())
        dispatcher.dispatch_once()
    for request in requests:
        request.refresh_from_db()
        assert request.status == RequestStatus.DONE
        assert request.submission.feedback.source == Source.LLM


def test_an_error_inside_a_stream_costs_that_request_a_try_not_the_batch(llm, failing):
    """vLLM reports some engine failures as an error event in a 200 stream (the SDK raises
    openai.APIError): the other hints of the batch are stored, and that one is tried again."""
    requests = [failing("alice", n) for n in (1, 2, 3)]
    llm.faults(stream_error_next=1)
    assert dispatcher.dispatch_once() == 3
    states = []
    for request in requests:
        request.refresh_from_db()
        states.append(request.status)
    assert sorted(states) == [RequestStatus.DONE, RequestStatus.DONE, RequestStatus.PENDING]
    broken = next(r for r in requests if r.status == RequestStatus.PENDING)
    assert "APIError" in broken.last_error and broken.lease_until is None
    assert broken.submission.feedback.source == Source.FALLBACK  # the student is not left waiting
    FeedbackRequest.objects.update(not_before=timezone.now())
    dispatcher.dispatch_once()
    broken.refresh_from_db()
    assert broken.status == RequestStatus.DONE and broken.submission.feedback.source == Source.LLM
