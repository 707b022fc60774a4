"""The demo seed is idempotent, and its reference solutions pass their own tests."""

import pytest
from django.core.management import call_command

import sandbox
from courses.models import Assignment, Course, Membership
from grading.models import Submission
from grading.run import build_job

pytestmark = pytest.mark.django_db


def test_it_seeds_the_demo_course_twice_without_duplicates():
    call_command("seed_demo")
    call_command("seed_demo")
    course = Course.objects.get(code="cs101")
    assert Membership.objects.filter(course=course).count() == 5
    assert course.assignments.count() == 2
    for assignment in course.assignments.all():
        assert (
            assignment.tests.filter(visible=True).exists() and assignment.tests.filter(visible=False).exists()
        )


@pytest.mark.docker
def test_the_reference_solutions_pass_every_test(sandbox_image, django_user_model):
    call_command("seed_demo")
    student = django_user_model.objects.get(username="alice")
    for assignment in Assignment.objects.filter(course__code="cs101"):
        submission = Submission(
            assignment=assignment, student=student, attempt=1, files=assignment.reference_files
        )
        result = sandbox.run(build_job(submission), sandbox_image)
        assert [t.outcome.value for t in result.tests] == ["passed"] * assignment.tests.count(), (
            assignment.slug
        )
