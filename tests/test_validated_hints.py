"""Sandbox-validated hints: a model hint is shown only if a repair guided by it passes more tests."""

import asyncio

import openai
import pytest

from feedback import dispatcher
from feedback.llm import HintResult, propose_repair
from feedback.models import RequestStatus, Source
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


@pytest.mark.docker
def test_the_sandbox_decides_whether_a_repair_helps(failing, sandbox_image):
    submission = failing("alice").submission  # its code passes none of the 3 tests
    assert dispatcher.repair_helps(submission, CORRECT) is True
    assert dispatcher.repair_helps(submission, submission.files["solution.py"]) is False
    assert dispatcher.repair_helps(submission, "this is not python") is False
    assert dispatcher.repair_helps(submission, None) is False


@pytest.mark.docker
def test_a_hint_that_does_not_help_the_repair_is_withheld(llm, failing, assignment, sandbox_image):
    assignment.validate_hints = True
    assignment.save()
    request = failing("alice")
    dispatcher.dispatch_once()
    request.refresh_from_db()
    assert request.status == RequestStatus.DONE and "did not lead a repair" in request.last_error
    assert request.submission.feedback.source == Source.FALLBACK


def test_without_validation_the_model_hint_is_shown(llm, failing):
    request = failing("alice")
    dispatcher.dispatch_once()
    request.refresh_from_db()
    assert request.submission.feedback.source == Source.LLM
