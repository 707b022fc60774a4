"""do_submit: every kind of bad input gets a clear message and saves nothing."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from grading.models import Status, Submission
from grading.services import SubmissionRejected, Upload, do_submit
from tests.conftest import CORRECT

pytestmark = pytest.mark.django_db


def rejected(student, assignment, uploads, match):
    with pytest.raises(SubmissionRejected, match=match):
        do_submit(student, assignment, uploads)
    assert not Submission.objects.exists()


def test_it_stores_a_queued_attempt(people, assignment):
    submission = do_submit(people["alice"], assignment, [Upload("mine.py", CORRECT.encode())])
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED and submission.attempt == 1
    assert submission.files == {"solution.py": CORRECT}  # a single file is taken as the main file


def test_it_numbers_attempts_per_student(people, assignment):
    for _ in range(2):
        do_submit(people["alice"], assignment, [Upload("solution.py", b"x = 1\n")])
    bob = do_submit(people["bob"], assignment, [Upload("solution.py", b"x = 1\n")])
    assert sorted(Submission.objects.filter(student=people["alice"]).values_list("attempt", flat=True)) == [
        1,
        2,
    ]
    assert bob.attempt == 1


def test_it_rejects_an_empty_file(people, assignment):
    rejected(people["alice"], assignment, [Upload("solution.py", b"  \n")], "is empty")


def test_it_rejects_no_file(people, assignment):
    rejected(people["alice"], assignment, [], "Choose a file")


def test_it_rejects_a_file_that_is_not_utf8(people, assignment):
    rejected(people["alice"], assignment, [Upload("solution.py", b"x = '\xff\xfe'\n")], "not UTF-8")


def test_it_rejects_a_binary_file(people, assignment):
    rejected(people["alice"], assignment, [Upload("solution.py", b"\x00\x01ELF")], "NUL bytes")


@override_settings(SUBMISSION_MAX_BYTES=1024)
def test_it_rejects_a_file_over_the_size_limit(people, assignment):
    rejected(people["alice"], assignment, [Upload("solution.py", b"#" * 1025)], "limit is 1,024 bytes")


def test_it_rejects_unsafe_file_names(people, assignment):
    uploads = [Upload("solution.py", b"x=1"), Upload("../evil.py", b"x=1")]
    rejected(people["alice"], assignment, uploads, "not an allowed file name")


def test_it_requires_the_main_file_among_several(people, assignment):
    uploads = [Upload("a.py", b"x=1"), Upload("b.py", b"x=1")]
    rejected(people["alice"], assignment, uploads, "must contain solution.py")


def test_it_rejects_after_the_hard_deadline(people, assignment):
    assignment.deadline = timezone.now() - timedelta(days=2)
    assignment.hard_deadline = timezone.now() - timedelta(days=1)
    assignment.late_policy = "accept"
    assignment.save()
    rejected(people["alice"], assignment, [Upload("solution.py", b"x=1")], "hard deadline has passed")


def test_it_rejects_late_work_when_the_policy_says_so(people, assignment):
    assignment.deadline = timezone.now() - timedelta(minutes=1)
    assignment.save()
    rejected(people["alice"], assignment, [Upload("solution.py", b"x=1")], "does not accept late")


def test_it_accepts_late_work_with_a_penalty(people, assignment):
    assignment.deadline = timezone.now() - timedelta(hours=25)
    assignment.late_policy, assignment.late_penalty_percent = "penalty", 10
    assignment.save()
    submission = do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    submission.refresh_from_db()
    assert submission.is_late and submission.late_penalty_percent == 20  # two started days


def test_it_rejects_over_the_attempt_limit(people, assignment):
    assignment.attempt_limit = 1
    assignment.save()
    do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    with pytest.raises(SubmissionRejected, match="all 1 attempts"):
        do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    assert Submission.objects.count() == 1


def test_it_does_not_count_platform_errors_as_attempts(people, assignment):
    assignment.attempt_limit = 1
    assignment.save()
    first = do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    Submission.objects.filter(pk=first.pk).update(status=Status.ERROR)
    second = do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    assert second.attempt == 2


def test_it_makes_students_wait_between_attempts(people, assignment):
    assignment.min_seconds_between_attempts = 600
    assignment.save()
    do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    with pytest.raises(SubmissionRejected, match=r"wait (599|600) more seconds"):
        do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    assert Submission.objects.count() == 1
    do_submit(people["bob"], assignment, [Upload("solution.py", b"x=1")])  # others are not held up


def test_an_extension_lets_one_student_submit_after_the_deadline(people, assignment):
    from courses.models import Extension

    assignment.deadline = timezone.now() - timedelta(hours=1)
    assignment.save()
    Extension.objects.create(
        assignment=assignment, student=people["alice"], deadline=timezone.now() + timedelta(days=1)
    )
    submission = do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    assert not submission.is_late
    with pytest.raises(SubmissionRejected, match="deadline has passed"):
        do_submit(people["bob"], assignment, [Upload("solution.py", b"x=1")])
    assert not Submission.objects.filter(student=people["bob"]).exists()


def test_it_logs_the_first_state(people, assignment):
    submission = do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    assert [(e.status, e.detail) for e in submission.events.all()] == [("queued", "submitted")]


def test_one_count_of_attempts_serves_the_rule_and_the_page(people, assignment):
    from grading.services import attempt_allowance, check_attempt_rules

    assignment.attempt_limit, assignment.min_seconds_between_attempts = 2, 60
    assignment.save()
    mine = Submission.objects.filter(assignment=assignment, student=people["alice"])
    now = timezone.now()
    fresh = attempt_allowance(assignment, mine, now)
    assert (fresh.used, fresh.left, fresh.wait_seconds, fresh.next_at, fresh.exhausted) == (
        0,
        2,
        0,
        None,
        False,
    )
    first = do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    Submission.objects.filter(pk=first.pk).update(status=Status.REJECTED)  # costs nothing, no wait
    assert attempt_allowance(assignment, mine, timezone.now()).used == 0
    second = do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    later = second.submitted_at + timedelta(seconds=15)
    allowance = attempt_allowance(assignment, mine, later)
    assert (allowance.used, allowance.left, allowance.wait_seconds) == (1, 1, 45)
    assert allowance.next_at == second.submitted_at + timedelta(seconds=60)
    with pytest.raises(SubmissionRejected, match="wait 45 more seconds"):
        check_attempt_rules(assignment, mine, later)
    Submission.objects.filter(pk=second.pk).update(submitted_at=timezone.now() - timedelta(minutes=5))
    do_submit(people["alice"], assignment, [Upload("solution.py", b"x=1")])
    spent = attempt_allowance(assignment, mine, timezone.now())
    assert (spent.used, spent.left, spent.exhausted) == (2, 0, True)
    with pytest.raises(SubmissionRejected, match="all 2 attempts"):
        check_attempt_rules(assignment, mine, timezone.now())
