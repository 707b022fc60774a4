"""Sandbox-checked hints: a model hint is shown only if a repair guided by it passes more tests,
checked by a trial run on the grading queue (not in the feedback worker)."""

import asyncio

import openai
import pytest

from feedback import dispatcher
from feedback.llm import HintAnswer, HintResult, propose_repair
from feedback.models import Feedback, RequestStatus, Source
from feedback.services import feedback_pending
from grading import run
from grading.models import TrialPurpose, TrialRun, TrialStatus
from grading.signals import announce_requeued
from tests.conftest import CORRECT
from tests.test_llm_prompts import request as hint_request

pytestmark = pytest.mark.django_db


def test_the_model_proposes_a_repair_of_the_students_code(llm_server):
    async def call():
        async with openai.AsyncOpenAI(base_url=llm_server.url, api_key="x") as client:
            return await propose_repair(
                client,
                "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ",
                hint_request(),
                "Check what index() does when x is missing.",
                HintResult(answer=None),
            )

    assert "return xs.index(x)" in asyncio.run(call())  # this server echoes: it cannot fix code


ANSWER = HintAnswer(
    summary="Compare what add returns with a + b.",
    hints=[{"text": "Look at the operator.", "line": 2}],
    concept="arithmetic",
    confidence=0.9,
)


def _held(request, repair):
    """The dispatcher's step for an assignment with checked hints: the model's answer waits,
    the automatic hint shows, a trial run of the repair is queued for the grading worker."""
    assert dispatcher.claim_batch(10) == [request.pk]
    dispatcher.hold_for_check(
        request, dispatcher.Outcome("llm", HintResult(answer=ANSWER, prompt_tokens=7), repairs=[repair])
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.CHECKING and request.candidate is not None
    assert request.submission.feedback.source == Source.FALLBACK
    assert feedback_pending(request.submission)  # the live page keeps polling
    trial = request.trial
    assert (trial.purpose, trial.status, trial.submission_id) == (
        TrialPurpose.HINT_CHECK,
        TrialStatus.QUEUED,
        request.submission_id,
    )
    return trial


@pytest.mark.docker
@pytest.mark.parametrize(
    "repair,shown",
    [(CORRECT, Source.LLM), ("same", Source.FALLBACK), ("this is not python", Source.FALLBACK)],
    ids=["repair-passes-more", "repair-passes-no-more", "repair-does-not-run"],
)
def test_the_grading_worker_decides_whether_a_repair_helps(failing, assignment, sandbox_image, repair, shown):
    assignment.validate_hints = True
    assignment.save()
    request = failing("alice")  # its code passes none of the 3 tests
    code = request.submission.files["solution.py"] if repair == "same" else repair
    trial = _held(request, code)
    assert run.run_trial(trial.pk) == run.GradeOutcome.GRADED  # what the grading queue's task runs
    request.refresh_from_db()
    request.submission.feedback.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.candidate is None
    assert request.submission.feedback.source == shown
    if shown == Source.LLM:
        assert (
            request.submission.feedback.hint == ANSWER.text()
            and request.submission.feedback.prompt_tokens == 7
        )
    else:
        assert dispatcher.NOT_HELPFUL in request.last_error


def test_no_repair_means_the_automatic_hint(failing, assignment):
    request = failing("alice")
    assert dispatcher.claim_batch(10) == [request.pk]
    dispatcher.hold_for_check(request, dispatcher.Outcome("llm", HintResult(answer=ANSWER), repairs=[None]))
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.submission.feedback.source == Source.FALLBACK


def test_a_check_that_cannot_run_keeps_the_automatic_hint(failing, assignment):
    request = failing("alice")
    trial = _held(request, CORRECT)
    run.give_up_trial(trial.pk)  # what the task does once the platform's retry budget is spent
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and request.submission.feedback.source == Source.FALLBACK


@pytest.mark.docker
def test_a_hint_that_does_not_help_the_repair_is_withheld(llm, failing, assignment, sandbox_image):
    assignment.validate_hints = True
    assignment.save()
    request = failing("alice")
    dispatcher.dispatch_once()  # the dev server echoes the student's code as its "repair"
    request.refresh_from_db()
    assert request.status == RequestStatus.CHECKING
    run.run_trial(request.trial_id)
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and "did not lead a repair" in request.last_error
    assert request.submission.feedback.source == Source.FALLBACK


def test_without_validation_the_model_hint_is_shown(llm, failing):
    request = failing("alice")
    dispatcher.dispatch_once()
    request.refresh_from_db()
    assert request.submission.feedback.source == Source.LLM


def test_an_answer_about_results_a_regrade_dropped_is_not_stored(failing, people):
    """The model answered about the old results while a regrade dropped the request and its hint:
    nothing stale comes back."""
    request = failing("alice")
    assert dispatcher.claim_batch(10) == [request.pk]
    announce_requeued([request.submission_id])  # what a regrade does
    dispatcher.store(request, dispatcher.Outcome("llm", HintResult(answer=ANSWER)))
    dispatcher.hold_for_check(
        request, dispatcher.Outcome("llm", HintResult(answer=ANSWER), repairs=[CORRECT])
    )
    assert not Feedback.objects.filter(submission=request.submission).exists()
    assert not TrialRun.objects.exists()
