"""Per-assignment analytics and their charts."""

import pytest
from django.urls import reverse

from feedback.models import Feedback
from grading.models import Status, Submission, TestResult
from web.analytics import assignment_analytics, bar_chart

pytestmark = pytest.mark.django_db


def graded(assignment, student, attempt, passed: set, error=None):
    sub = Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=attempt,
        files={},
        status=Status.GRADED,
        score=len(passed),
        raw_score=len(passed),
        max_score=3,
    )
    for order, test in enumerate(assignment.tests.all()):
        ok = test.name in passed
        TestResult.objects.create(
            submission=sub,
            test_case=test,
            name=test.name,
            visible=test.visible,
            order=order,
            outcome="passed" if ok else "error",
            points=1,
            points_earned=1 if ok else 0,
            error=None if ok else {"type": error or "IndexError"},
        )
    return sub


def test_it_computes_distribution_pass_rates_failures_and_ratings(people, assignment):
    graded(assignment, people["alice"], 1, {"small"})
    last = graded(assignment, people["alice"], 2, {"small", "stdin", "big"})
    graded(assignment, people["bob"], 1, set(), error="TypeError")
    Feedback.objects.create(
        submission=last,
        hint="h",
        source="llm",
        rating=1,
        prompt_tokens=900,
        cached_tokens=600,
        completion_tokens=80,
        latency_seconds=1.5,
        ttft_seconds=0.2,
    )
    Feedback.objects.create(
        submission=Submission.objects.get(attempt=1, student=people["bob"]), hint="f", source="fallback"
    )
    data = assignment_analytics(assignment)
    assert data.students == 2 and data.submissions == 3
    assert dict(data.distribution) == {"0–20%": 1, "20–40%": 0, "40–60%": 0, "60–80%": 0, "80–100%": 1}
    assert dict(data.pass_rates) == {"small": 2 / 3, "stdin": 1 / 3, "big": 1 / 3}
    assert dict(data.failing_tests) == {"stdin": 2, "big": 2, "small": 1}
    assert dict(data.exceptions) == {"IndexError": 2, "TypeError": 3}
    assert data.ratings == {"helpful": 1, "not helpful": 0, "unrated": 1}
    assert data.tokens == [("prompt", 900), ("from the prefix cache", 600), ("completion", 80)]
    assert dict(data.latency)["1–2 s"] == 1 and sum(dict(data.latency).values()) == 1  # fallbacks excluded


def test_charts_are_accessible_and_escape_their_labels():
    svg = bar_chart("Most failed", [("<script>x</script>", 3), ("b", 1)])
    assert 'role="img"' in svg and "<title>Most failed</title>" in svg and "<script>" not in svg
    assert "no data yet" in bar_chart("Empty", [])


def test_the_analytics_page_is_for_staff(client, people, assignment):
    graded(assignment, people["alice"], 1, {"small"})
    client.force_login(people["alice"])
    assert client.get(reverse("analytics", args=["cs1", "add"])).status_code == 404
    client.force_login(people["ta"])
    html = client.get(reverse("analytics", args=["cs1", "add"])).content.decode()
    assert html.count("<svg") == 5 and "Pass rate per test" in html  # no model hints: no usage charts
    assert "Model tokens, all hints: no data yet" in html
