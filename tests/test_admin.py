"""Every model has a working admin: list, add and change pages render."""

import pytest
from django.contrib import admin
from django.urls import reverse

from grading.models import Submission

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_with_data(admin_client, people, assignment):
    Submission.objects.create(
        assignment=assignment, student=people["alice"], attempt=1, files={"solution.py": "x"}
    )
    return admin_client


def test_every_model_is_registered():
    names = {m._meta.label for m in admin.site._registry}
    assert {
        "courses.Course",
        "courses.Membership",
        "courses.Assignment",
        "courses.TestCase",
        "grader.Submission",
        "grader.TestResult",
        "feedback.FeedbackRequest",
        "feedback.Feedback",
    } <= names


@pytest.mark.parametrize(
    "label",
    [
        "courses.course",
        "courses.membership",
        "courses.assignment",
        "courses.testcase",
        "grader.submission",
        "grader.testresult",
        "feedback.feedbackrequest",
        "feedback.feedback",
    ],
)
def test_it_renders_the_admin_pages(admin_client_with_data, label):
    app, model = label.split(".")
    assert admin_client_with_data.get(reverse(f"admin:{app}_{model}_changelist")).status_code == 200
    assert admin_client_with_data.get(reverse(f"admin:{app}_{model}_add")).status_code == 200


def test_it_shows_a_clear_error_for_an_invalid_test_spec(admin_client_with_data, assignment):
    test = assignment.tests.first()
    url = reverse("admin:courses_testcase_change", args=[test.pk])
    response = admin_client_with_data.post(
        url,
        {
            "assignment": assignment.pk,
            "name": "small",
            "kind": "expr",
            "visible": "on",
            "points": "1",
            "time_limit": "5",
            "order": "0",
            "spec": '{"expr": "add(1,", "expected": "3"}',
        },
    )
    assert response.status_code == 200 and "expression does not parse" in response.content.decode()
    test.refresh_from_db()
    assert test.spec["expr"] == "add(1, 2)"


def test_it_refuses_negative_points(admin_client_with_data, assignment):
    test = assignment.tests.first()
    url = reverse("admin:courses_testcase_change", args=[test.pk])
    response = admin_client_with_data.post(
        url,
        {
            "assignment": assignment.pk,
            "name": "small",
            "kind": "expr",
            "visible": "on",
            "points": "-1",
            "time_limit": "5",
            "order": "0",
            "spec": '{"expr": "add(1, 2)", "expected": "3"}',
        },
    )
    assert response.status_code == 200 and "greater than or equal to 0" in response.content.decode()
    test.refresh_from_db()
    assert test.points == 1
