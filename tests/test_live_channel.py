"""The live part's conditional GET (web/live.py): a poll whose copy is current gets a 304 from
the cache alone; every change of the submission gives a new body; nobody gets a 304 about a
submission the full view would not show them."""

import html
import re

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from feedback import dispatcher
from grading import run as grading
from grading.models import Status, Submission
from grading.staff import do_override_score
from sandbox import Outcome, Result, RunStatus, TestReport
from tests.conftest import WRONG, login

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation happens on commit


def submit(student, assignment, status=Status.QUEUED) -> Submission:
    return Submission.objects.create(
        assignment=assignment, student=student, attempt=1, files={"solution.py": WRONG}, status=status
    )


def failing(tests: dict) -> Result:
    return Result(
        status=RunStatus.OK,
        tests=[
            TestReport(
                id=key,
                name=t.name,
                outcome=Outcome.FAILED,
                points=1,
                points_earned=0,
                expected="3",
                actual="4",
            )
            for key, t in tests.items()
        ],
    )


def poll(client, submission, etag=None):
    headers = {"HTTP_IF_NONE_MATCH": etag} if etag else {}
    return client.get(f"/submissions/{submission.pk}/live/", **headers)


def test_it_answers_a_current_copy_with_304_and_no_query(client, people, assignment):
    submission = submit(people["alice"], assignment)
    first = poll(login(client, people["alice"]), submission)
    assert first.status_code == 200 and first["ETag"]
    with CaptureQueriesContext(connection) as queries:
        again = poll(client, submission, first["ETag"])
    assert again.status_code == 304
    assert len(queries) == 0
    assert again["ETag"] == first["ETag"]


def page_etag(client, submission) -> str:
    page = client.get(f"/submissions/{submission.pk}/")
    return html.unescape(re.search(rb'data-etag="([^"]+)"', page.content).group(1).decode())


def test_the_pages_own_copy_is_current_for_the_first_poll(client, people, assignment):
    submission = submit(people["alice"], assignment)
    etag = page_etag(login(client, people["alice"]), submission)
    with CaptureQueriesContext(connection) as queries:
        assert poll(client, submission, etag).status_code == 304
    assert len(queries) == 0
    grading.claim(submission.pk, redelivered=False)
    running = poll(client, submission, etag)
    assert running.status_code == 200 and b'data-status="running"' in running.content


def test_queued_graded_and_the_hint_each_give_a_new_body(client, people, assignment, settings, monkeypatch):
    settings.LLM_BASE_URL, settings.LLM_BASE_URLS = "", []  # the automatic hint, at once
    # The hint is made here, when this test says so: a worker left running by another module
    # must not hear of the request and answer it between two polls.
    monkeypatch.setattr("feedback.services.enqueue_feedback", lambda request_id: None)
    submission = submit(people["alice"], assignment)
    queued = poll(login(client, people["alice"]), submission)
    assert poll(client, submission, queued["ETag"]).status_code == 304

    token = grading.claim(submission.pk, redelivered=False)
    tests = {t.sandbox_id: t for t in assignment.tests.all()}
    assert grading.record_result(submission.pk, token, tests, failing(tests))
    graded = poll(client, submission, queued["ETag"])
    assert graded.status_code == 200 and graded["ETag"] != queued["ETag"]
    assert b'data-status="graded"' in graded.content and b"preparing a hint" in graded.content
    assert poll(client, submission, graded["ETag"]).status_code == 304

    assert dispatcher.dispatch_once() == 1
    hinted = poll(client, submission, graded["ETag"])
    assert hinted.status_code == 200 and hinted["ETag"] != graded["ETag"]
    assert b"Automatic hint" in hinted.content and b'data-done="1"' in hinted.content


def test_a_staff_override_gives_the_student_a_new_body(client, people, assignment):
    submission = submit(people["alice"], assignment, Status.GRADED)
    Submission.objects.filter(pk=submission.pk).update(score=1, raw_score=1, max_score=3)
    before = poll(login(client, people["alice"]), submission)
    do_override_score(Submission.objects.get(pk=submission.pk), "3", "regraded by hand", people["ta"])
    after = poll(client, submission, before["ETag"])
    assert after.status_code == 200 and b"set by course staff" in after.content


def test_another_students_etag_gets_no_304(client, people, assignment):
    alices = submit(people["alice"], assignment)
    seen = poll(login(client, people["alice"]), alices)
    client.logout()
    bob = login(client, people["bob"])
    poll(bob, submit(people["bob"], assignment))  # bob has a grant of his own
    response = poll(bob, alices, seen["ETag"])
    assert response.status_code == 404


def test_staff_who_may_see_it_get_their_own_304(client, people, assignment):
    submission = submit(people["alice"], assignment)
    first = poll(login(client, people["ta"]), submission)
    assert first.status_code == 200
    assert poll(client, submission, first["ETag"]).status_code == 304


def test_after_logout_the_old_cookie_gets_no_304(client, people, assignment):
    submission = submit(people["alice"], assignment)
    seen = poll(login(client, people["alice"]), submission)
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post("/accounts/logout/")
    client.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    response = poll(client, submission, seen["ETag"])
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_made_up_etag_gets_the_full_fragment(client, people, assignment):
    submission = submit(people["alice"], assignment)
    poll(login(client, people["alice"]), submission)
    response = poll(client, submission, '"guess.0123456789abcdef"')
    assert response.status_code == 200 and b'id="live"' in response.content
