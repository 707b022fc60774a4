"""One course's burst does not starve another course."""

import pytest
from django.db.models import Max
from django.urls import reverse

from courses.models import Assignment, Course, Membership, Role, TestCase
from grading.models import Status, Submission
from grading.services import fair_priority
from tests.conftest import CORRECT


@pytest.fixture
def other_course(people, make_user):
    course = Course.objects.create(code="cs2", title="CS 2")
    dave = make_user("dave")
    Membership.objects.create(user=dave, course=course, role=Role.STUDENT)
    assignment = Assignment.objects.create(course=course, slug="add", title="Add", published=True)
    TestCase.objects.create(
        assignment=assignment,
        name="small",
        kind="expr",
        points=1,
        spec={"expr": "add(1, 2)", "expected": "3"},
        time_limit=5,
    )
    return dave


@pytest.mark.django_db
def test_a_course_burst_sinks_in_priority_but_another_course_does_not(
    people, assignment, other_course, settings
):
    settings.GRADING_FAIR_SHARE = 4
    burst = [
        Submission.objects.create(assignment=assignment, student=people["alice"], attempt=n, files={})
        for n in range(1, 31)
    ]
    assert [fair_priority(burst[0].pk), fair_priority(burst[-1].pk)] == [7, 7]  # 30 waiting: (30-1)//4
    lone = Submission.objects.create(
        assignment=Assignment.objects.get(course__code="cs2"), student=other_course, attempt=1, files={}
    )
    assert fair_priority(lone.pk) == 0
    Submission.objects.filter(pk__in=[s.pk for s in burst[:29]]).update(status=Status.GRADED)
    assert fair_priority(burst[-1].pk) == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.docker
@pytest.mark.worker
def test_a_submission_from_a_quiet_course_overtakes_a_burst(
    client, people, assignment, other_course, celery_worker, wait_for
):
    client.force_login(people["alice"])
    slow = CORRECT.replace("def add(a, b):\n", "def add(a, b):\n    __import__('time').sleep(0.3)\n")
    for _ in range(10):
        client.post(reverse("submit", args=["cs1", "add"]), {"code": slow})
    client.force_login(other_course)
    client.post(reverse("submit", args=["cs2", "add"]), {"code": CORRECT})
    assert wait_for(lambda: not Submission.objects.exclude(status=Status.GRADED).exists(), 120)
    lone = Submission.objects.get(student=other_course)
    burst_end = Submission.objects.filter(student=people["alice"]).aggregate(end=Max("graded_at"))["end"]
    overtaken = Submission.objects.filter(student=people["alice"], graded_at__gt=lone.graded_at).count()
    assert lone.graded_at < burst_end and overtaken >= 3  # it did not wait for the whole burst
