"""What the model server says about its configuration: a model it does not serve, a request it
refuses, a context window a prompt must fit. Against the dev server, taught vLLM's answers
(404 for another model's name, 400 past the context length, /tokenize, max_model_len)."""

import asyncio
from datetime import timedelta

import openai
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from feedback import dispatcher
from feedback.llm import (
    ContextWindow,
    FailingTest,
    HintRequest,
    PromptTooLong,
    fit_prompt,
    vllm_token_counter,
)
from feedback.models import Feedback, FeedbackRequest, RequestStatus, Source
from tests.conftest import long_submission

pytestmark = pytest.mark.django_db


def _due():
    FeedbackRequest.objects.update(not_before=timezone.now() - timedelta(seconds=1))


def test_a_model_the_server_does_not_serve_waits_for_the_operator_without_spending_tries(
    llm, failing, settings
):
    settings.LLM_MODEL = "no-such-model"
    requests = [failing("alice", n) for n in (1, 2)]
    for _ in range(3):  # more batches than one: still no try is spent
        _due()
        dispatcher.dispatch_once()
    for request in requests:
        request.refresh_from_db()
        assert request.status == RequestStatus.PENDING and request.tries == 0
        assert "no-such-model" in request.last_error
        assert request.submission.feedback.source == Source.FALLBACK  # the student is not left waiting
    problem = dispatcher.model_server_problem()
    assert "no-such-model" in problem and "Qwen" in problem  # what is wrong, and what is served
    _, breaker = dispatcher.controls()
    assert not breaker.is_open()  # a setting to fix, not a server in trouble

    settings.LLM_MODEL = "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ"  # the operator fixes it
    _due()
    dispatcher.dispatch_once()
    for request in requests:
        request.refresh_from_db()
        assert request.status == RequestStatus.DONE and request.submission.feedback.source == Source.LLM
    assert dispatcher.model_server_problem() == ""


def test_a_404_on_the_call_itself_is_a_configuration_problem(llm, failing, settings):
    """The check passed, then the server stopped serving the name (a redeploy): the call's 404 is
    classified the same way, not shown as an automatic hint 'done'."""
    request = failing("alice")
    hint_request = dispatcher.hint_request(request.submission)
    limiter, breaker = dispatcher.controls()
    status = dispatcher.server_status()
    llm.configure(model="renamed-model")

    async def run():
        async with dispatcher._client() as client:
            return await dispatcher.run_one(client, limiter, breaker, hint_request, None, status)

    outcome = asyncio.run(run())
    assert outcome.kind == "deferred" and "404" in outcome.error
    assert "404" in status.read()["problem"]


def test_the_staff_page_says_model_hints_are_paused(client, people, llm, failing, settings, assignment):
    settings.LLM_MODEL = "no-such-model"
    failing("alice")
    dispatcher.dispatch_once()
    client.force_login(people["instructor"])
    page = client.get(f"/courses/{assignment.course.code}/{assignment.slug}/submissions/")
    assert page.status_code == 200 and "Model hints are paused" in page.content.decode()
    client.force_login(people["alice"])  # a student's page says nothing of the server
    mine = client.get(f"/courses/{assignment.course.code}/{assignment.slug}/")
    assert "paused" not in mine.content.decode()


def test_llm_check_reports_the_server_and_fails_on_a_problem(llm, settings, capsys):
    call_command("llm_check")
    out = capsys.readouterr().out
    assert "context length:  32768 tokens (from the server)" in out and "ok: model hints can be served" in out
    settings.LLM_MODEL = "no-such-model"
    with pytest.raises(CommandError, match="does not serve LLM_MODEL='no-such-model'"):
        call_command("llm_check")


def test_a_long_file_is_fitted_to_the_context_window_and_says_what_was_left_out(llm, people, assignment):
    assert len(long_submission(assignment, people["bob"])[0].files["solution.py"]) > 14_500
    llm.configure(max_model_len=2048)
    sub, request = long_submission(assignment, people["alice"])
    dispatcher.dispatch_once()
    request.refresh_from_db()
    feedback = Feedback.objects.get(submission=sub)
    assert request.status == RequestStatus.DONE and feedback.source == Source.LLM  # not a 400 fallback
    assert "solution.py outside lines" in feedback.left_out


def test_the_fitted_prompt_keeps_the_failing_region_and_names_the_cut(llm, people, assignment):
    llm.configure(max_model_len=2048)
    sub, _ = long_submission(assignment, people["alice"])
    request = dispatcher.hint_request(sub)

    async def fit():
        async with openai.AsyncOpenAI(base_url=llm.url, api_key="x") as client:
            counter = vllm_token_counter(client, "Qwen/Qwen2.5-Coder-32B-Instruct-AWQ")
            fitted = await fit_prompt(request, 600, ContextWindow(2048, counter))
            return fitted, await counter(fitted.messages)

    fitted, exact = asyncio.run(fit())
    prompt = fitted.messages[1]["content"]
    assert " 450 |     total = total / 0  # THE FAILING LINE" in prompt  # its own line number
    assert "lines 1–" in prompt and "left out" in prompt  # the model is told what it does not see
    assert "# Left out to fit the context window" in prompt
    assert exact is not None and exact <= 2048 - 600  # room for the answer
    assert fitted.left_out and any("outside lines" in n for n in fitted.left_out)


def test_a_request_the_server_refuses_is_reported_and_the_fallback_stays(llm, failing, settings):
    """The operator claims a longer context than the server has: the server's 400 is a refusal
    the operator sees, the fallback is final, and the breaker does not count it."""
    settings.LLM_MAX_MODEL_LEN = 100_000
    llm.configure(max_model_len=64)
    request = failing("alice")
    dispatcher.dispatch_once()
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and "maximum context length" in request.last_error
    assert request.submission.feedback.source == Source.FALLBACK
    status = dispatcher.server_status().read()
    assert "maximum context length" in status["refused"] and status["refused_count"] == "1"
    _, breaker = dispatcher.controls()
    assert not breaker.is_open()


def test_a_prompt_that_cannot_fit_at_all_ends_as_the_fallback(llm, failing):
    llm.configure(max_model_len=120)
    request = failing("alice")
    dispatcher.dispatch_once()
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and "PromptTooLong" in request.last_error
    assert request.submission.feedback.source == Source.FALLBACK


def test_fitting_without_a_token_counter_estimates_and_without_a_window_changes_nothing():
    request = HintRequest(
        "c/a",
        "Add two numbers.",
        [],
        False,
        {"solution.py": "x = 1\n" * 5000, "helper.py": "y = 2\n" * 100},
        [FailingTest("t", True, "error", error={"type": "E", "line": 4000})],
    )
    whole = asyncio.run(fit_prompt(request, 600, None))
    assert whole.left_out == [] and "5000 | x = 1" in whole.messages[1]["content"]
    fitted = asyncio.run(fit_prompt(request, 600, ContextWindow(4096)))
    text = fitted.messages[1]["content"]
    assert (
        "4000 | x = 1" in text
        and "   1 | x = 1" not in text
        and "helper.py" not in text.split("# Student")[1]
    )
    assert "the files helper.py" in fitted.left_out
    with pytest.raises(PromptTooLong):
        asyncio.run(fit_prompt(request, 600, ContextWindow(50)))


def test_updated_at_moves_with_every_change_of_state(llm, failing):
    request = failing("alice")
    before = FeedbackRequest.objects.get(pk=request.pk).updated_at
    dispatcher.claim_batch(5)
    claimed = FeedbackRequest.objects.get(pk=request.pk)
    assert claimed.status == RequestStatus.IN_PROGRESS and claimed.updated_at > before


def test_the_window_follows_the_file_the_failure_is_in():
    """A failure in a helper file: the window is cut there, and that file is kept with the main one."""
    request = HintRequest(
        "c/a",
        "Add two numbers.",
        [],
        False,
        {
            "solution.py": "from helper import f\n" * 3000,
            "helper.py": "y = 2\n" * 6000,
            "notes.py": "z = 3\n" * 100,
        },
        [FailingTest("t", True, "error", error={"type": "E", "line": 5000, "file": "helper.py"})],
    )
    fitted = asyncio.run(fit_prompt(request, 600, ContextWindow(4096)))
    text = fitted.messages[1]["content"]
    assert "5000 | y = 2" in text  # the failing line of the failing file
    assert "## solution.py" in text and "## notes.py" not in text
    assert any(n.startswith("helper.py outside lines") for n in fitted.left_out)


def test_a_line_past_the_end_never_empties_the_window():
    request = HintRequest(
        "c/a",
        "Add.",
        [],
        False,
        {"solution.py": "x = 1\n" * 3000},
        [FailingTest("t", True, "error", error={"type": "E", "line": 99999})],
    )
    fitted = asyncio.run(fit_prompt(request, 600, ContextWindow(2048)))
    assert "3000 | x = 1" in fitted.messages[1]["content"]
