"""Best-of-n hints: n candidates in one request, ranked by a critic model and by the sandbox
(the candidate whose repair passes the most tests is the one shown)."""

import asyncio
from datetime import timedelta

import openai
import pytest
from django.utils import timezone

from courses.models import Assignment
from feedback import dispatcher
from feedback.llm import HintAnswer, HintResult, generate_hint, rank
from feedback.models import Feedback, FeedbackRequest, RequestStatus, Source
from grading import run
from grading.models import TrialRun
from tests.conftest import CORRECT, WRONG
from tests.test_llm_prompts import request as hint_request

pytestmark = pytest.mark.django_db


def _answer(summary: str, confidence: float = 0.5) -> HintAnswer:
    return HintAnswer(
        summary=summary,
        hints=[{"text": "Look at the operator.", "line": 2}],
        concept="c",
        confidence=confidence,
    )


def test_n_candidates_come_from_one_request(llm_server):
    request = hint_request()
    request.candidates = 3

    async def call():
        async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x") as client:
            return await generate_hint(client, "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ", request)

    result = asyncio.run(call())
    assert result.candidates == 3 and len(result.answers) == 3 and result.answer is result.answers[0]
    assert result.model_calls == 1  # one request; the server computed the prompt once for all three
    single = hint_request()
    one = asyncio.run(
        _with_client(llm_server, lambda c: generate_hint(c, "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ", single))
    )
    assert result.completion_tokens > 2 * one.completion_tokens  # the cost of choosing, recorded


async def _with_client(llm_server, call):
    async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x") as client:
        return await call(client)


def test_rank_puts_the_critics_best_first_then_the_models_confidence():
    a, b, c = _answer("a", 0.9), _answer("b", 0.2), _answer("c", 0.5)
    assert rank([a, b, c], [3, 9, 9]) == [c, b, a]  # 9s first; between them the higher confidence
    assert rank([a, b, c], None) == [a, c, b]  # no critic: the model's own confidence


def test_the_dispatcher_asks_for_n_and_the_critic_and_records_the_cost(llm, failing, assignment):
    assignment.hint_candidates, assignment.hint_critic = 3, True
    assignment.save()
    request = failing("alice")
    dispatcher.dispatch_once()
    feedback = Feedback.objects.get(submission=request.submission)
    assert feedback.source == Source.LLM and feedback.candidates == 3
    assert feedback.model_calls == 2  # the three candidates in one call, then the critic
    # The model ranked its first candidate best (highest confidence); this critic prefers the
    # last one, and the critic's order wins.
    assert feedback.hint.endswith("(Take 3.)")


def test_without_the_critic_the_models_confidence_orders(llm, failing, assignment):
    assignment.hint_candidates = 3
    assignment.save()
    request = failing("alice")
    dispatcher.dispatch_once()
    feedback = Feedback.objects.get(submission=request.submission)
    assert feedback.model_calls == 1 and "(Take" not in feedback.hint


@pytest.mark.docker
def test_the_sandbox_picks_the_candidate_whose_repair_passes_the_most_tests(
    failing, assignment, sandbox_image
):
    """Three candidates, each with the model's repair guided by it alone: the first-ranked one's
    repair passes 2 tests, the second's 3, the third's none. The second is shown."""
    assignment.validate_hints, assignment.hint_candidates = True, 3
    assignment.save()
    request = failing("alice")  # passes none of the 3 tests
    first, second, third = _answer("first", 0.9), _answer("second", 0.5), _answer("third", 0.1)
    result = HintResult(answer=first, answers=[first, second, third], candidates=3, prompt_tokens=11)
    same = request.submission.files["solution.py"]
    assert dispatcher.claim_batch(10) == [request.pk]
    dispatcher.hold_for_check(request, dispatcher.Outcome("llm", result, repairs=[WRONG, CORRECT, same]))
    request.refresh_from_db()
    trials = list(TrialRun.objects.filter(submission=request.submission).order_by("pk"))
    assert request.status == RequestStatus.CHECKING and len(trials) == 3
    for trial in trials[:2]:
        run.run_trial(trial.pk)
        request.refresh_from_db()
        assert request.status == RequestStatus.CHECKING  # the last trial to end decides
    run.run_trial(trials[2].pk)
    request.refresh_from_db()
    feedback = Feedback.objects.get(submission=request.submission)
    assert request.status == RequestStatus.DONE and feedback.source == Source.LLM
    assert feedback.hint.startswith("second") and feedback.candidates == 3 and feedback.prompt_tokens == 11


def test_the_authoring_form_bounds_n(client, people, assignment):
    client.force_login(people["instructor"])
    url = f"/courses/{assignment.course.code}/{assignment.slug}/edit/"
    page = client.get(url)
    assert "Hints to choose from" in page.content.decode()
    form = page.context["form"]
    data = {k: v for k, v in form.initial.items() if v is not None and not isinstance(v, dict | list)}
    data.update(hint_candidates="9")
    response = client.post(url, data)
    assert response.status_code == 400 and "hint_candidates" in response.context["form"].errors
    assert Assignment.objects.get(pk=assignment.pk).hint_candidates == 1  # nothing saved


@pytest.mark.docker
def test_a_check_that_never_ends_is_decided_with_the_trials_that_did(
    failing, assignment, sandbox_image, settings
):
    assignment.validate_hints, assignment.hint_candidates = True, 2
    assignment.save()
    request = failing("alice")
    first, second = _answer("first", 0.9), _answer("second", 0.5)
    result = HintResult(answer=first, answers=[first, second], candidates=2)
    assert dispatcher.claim_batch(10) == [request.pk]
    dispatcher.hold_for_check(request, dispatcher.Outcome("llm", result, repairs=[WRONG, CORRECT]))
    first_trial, lost_trial = TrialRun.objects.filter(submission=request.submission).order_by("pk")
    run.run_trial(first_trial.pk)  # the other one never runs (a lost message, a long queue)
    assert dispatcher.decide_stale_checks() == 0  # not stale yet
    FeedbackRequest.objects.filter(pk=request.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.FEEDBACK_CHECK_SECONDS + 1)
    )
    assert dispatcher.decide_stale_checks() == 1
    request.refresh_from_db()
    feedback = Feedback.objects.get(submission=request.submission)
    assert request.status == RequestStatus.DONE and feedback.hint.startswith("first")  # its repair helped
    assert not TrialRun.objects.filter(pk=lost_trial.pk).exists()  # no use running it now


def test_a_limiter_serves_one_event_loop_after_another(llm, redis_client):
    limiter, _ = dispatcher.controls()

    async def twice():
        lease = await limiter.acquire()
        limiter.release(lease)

    asyncio.run(twice())
    asyncio.run(twice())  # a new loop: the limiter's own waiting primitives follow it
