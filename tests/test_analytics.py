"""Per-assignment analytics and their charts."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import Membership, Role, TestCase
from feedback.models import Feedback
from grading.disclosure import class_safe_kind
from grading.models import Status, Submission, TestResult
from web.analytics import assignment_analytics, bar_chart
from web.wrong_answers import OTHER, shown_value, wrong_answers

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
    overview = html.split('id="wrong-answers"')[0]
    assert overview.count("<svg") == 5 and "Pass rate per test" in html  # no model hints: no usage charts
    assert "Model tokens, all hints: no data yet" in html


# -- what the class gets wrong --------------------------------------------------------------
SECRET = "SECRET-30-VALUE"  # what a hidden test got: must never reach the panel


def student(course, name, role=Role.STUDENT):
    user = get_user_model().objects.create_user(name, f"{name}@example.edu", "x")
    Membership.objects.create(user=user, course=course, role=role)
    return user


def answered(assignment, who, attempt, answers: dict, status=Status.GRADED):
    """An attempt whose tests end as ``answers`` says: name -> (outcome, actual, exception type);
    tests not named pass."""
    sub = Submission.objects.create(
        assignment=assignment,
        student=who,
        attempt=attempt,
        files={},
        status=status,
        score=0 if status == Status.GRADED else None,
        raw_score=0 if status == Status.GRADED else None,
        max_score=3,
    )
    for order, test in enumerate(assignment.tests.order_by("order")):
        outcome, actual, error = answers.get(test.name, ("passed", None, None))
        TestResult.objects.create(
            submission=sub,
            test_case=test,
            name=test.name,
            visible=test.visible,
            order=order,
            outcome=outcome,
            points=1,
            points_earned=1 if outcome == "passed" else 0,
            actual=actual,
            error={"type": error, "message": SECRET} if error else None,
        )
    return sub


def by_name(assignment):
    return {t.name: t for t in wrong_answers(assignment)}


def counts(test):
    return [(a.label, a.students) for a in test.answers]


def test_wrong_answers_count_each_students_latest_graded_attempt_and_leave_staff_out(
    people, course, assignment
):
    alice, bob, ta = people["alice"], people["bob"], people["ta"]
    carol, dave = student(course, "carol"), student(course, "dave")
    answered(assignment, alice, 1, {"small": ("failed", "-1", None)})
    alice_last = answered(
        assignment,
        alice,
        2,
        {
            "small": ("failed", "4", None),
            "stdin": ("failed", "5\n6\n", None),
            "big": ("failed", SECRET, None),
        },
    )
    bob_last = answered(
        assignment,
        bob,
        1,
        {
            "small": ("failed", "4", None),
            "stdin": ("error", None, "ValueError"),
            "big": ("error", None, "Leak_10_20"),  # a name the student's code chose: not shown
        },
    )
    answered(assignment, bob, 2, {}, status=Status.QUEUED)  # not graded yet: attempt 1 counts
    carol_last = answered(
        assignment,
        carol,
        1,
        {
            "small": ("failed", "0", None),
            "stdin": ("timeout", None, None),
            "big": ("error", None, "ZeroDivisionError"),
        },
    )
    answered(assignment, dave, 1, {"stdin": ("failed", "", None)})
    answered(assignment, ta, 1, {"small": ("failed", "999", None), "big": ("failed", "31", None)})  # staff

    tests = by_name(assignment)
    assert list(tests) == ["small", "stdin", "big"]  # the tests' order
    small, stdin, big = tests["small"], tests["stdin"], tests["big"]
    assert (small.attempts, small.wrong) == (4, 3) and (stdin.attempts, stdin.wrong) == (4, 4)
    assert counts(small) == [("4", 2), ("0", 1)]  # alice's first attempt and the TA's are not there
    assert small.answers[0].submission_ids == tuple(sorted([alice_last.pk, bob_last.pk]))
    assert small.answers[0].is_value and small.answers[1].submission_ids == (carol_last.pk,)
    assert counts(stdin) == [
        ("5↵6↵", 1),
        ("Error: ValueError", 1),
        ("Printed nothing", 1),
        ("Time limit exceeded", 1),
    ]
    assert [a.is_value for a in stdin.answers] == [True, False, False, False]
    assert not big.visible and (big.attempts, big.wrong) == (4, 3)
    assert counts(big) == [
        ("Error: ZeroDivisionError", 1),
        ("Error: another exception type", 1),
        ("Failed", 1),
    ]
    assert not any(a.is_value for a in big.answers)
    everything = repr(wrong_answers(assignment))
    assert SECRET not in everything and "Leak_10_20" not in everything and "999" not in everything


def test_an_attempt_being_regraded_still_counts_with_its_results(people, course, assignment):
    answered(assignment, people["alice"], 1, {"small": ("failed", "-1", None)})
    last = answered(assignment, people["alice"], 2, {"small": ("failed", "4", None)})
    Submission.objects.filter(pk=last.pk).update(status=Status.RUNNING)  # a regrade: raw_score kept
    assert counts(by_name(assignment)["small"]) == [("4", 1)]
    Submission.objects.filter(pk=last.pk).update(status=Status.ERROR)  # not gradable: the one before
    assert counts(by_name(assignment)["small"]) == [("-1", 1)]


def test_a_test_hidden_after_grading_shows_kinds_only_and_keys_are_stable(people, course, assignment):
    answered(assignment, people["alice"], 1, {"small": ("failed", SECRET, None)})
    before = by_name(assignment)["small"]
    assert counts(before) == [(SECRET, 1)]
    assert by_name(assignment)["small"].answers == before.answers  # the same keys on every call
    TestCase.objects.filter(assignment=assignment, name="small").update(visible=False)
    after = by_name(assignment)["small"]
    assert counts(after) == [("Failed", 1)] and SECRET not in repr(after)
    # And a result graded while the test was hidden stays a kind when the test is made visible.
    TestCase.objects.filter(assignment=assignment, name="small").update(visible=True)
    TestResult.objects.filter(name="small").update(visible=False)
    assert counts(by_name(assignment)["small"]) == [("Failed", 1)]


def test_the_five_most_common_answers_then_other_with_ties_in_a_fixed_order(people, course, assignment):
    answers = ["b", "a", "a", "g", "f", "e", "d", "c"]
    for n, value in enumerate(answers):
        answered(assignment, student(course, f"s{n}"), 1, {"small": ("failed", value, None)})
    small = by_name(assignment)["small"]
    assert counts(small) == [("a", 2), ("b", 1), ("c", 1), ("d", 1), ("e", 1), ("2 other answers", 2)]
    assert small.answers[-1].key == OTHER and len(small.answers[-1].submission_ids) == 2
    assert counts(wrong_answers(assignment, top=1)[0]) == [("a", 2), ("6 other answers", 6)]


def test_a_hidden_test_names_only_exceptions_that_python_or_the_harness_define():
    assert class_safe_kind("Error", "MyError", visible=True) == "Error: MyError"
    assert class_safe_kind("Error", "Arg_6_7", visible=False) == "Error: another exception type"
    assert class_safe_kind("Error", "RecursionError", visible=False) == "Error: RecursionError"
    assert class_safe_kind("Error", "NotPlainData", visible=False) == "Error: NotPlainData"
    assert class_safe_kind("Error", None, visible=False) == "Error"
    assert class_safe_kind("Time limit exceeded", None, visible=False) == "Time limit exceeded"


def test_values_are_shortened_for_display():
    assert shown_value("x" * 61, 8000) == "x" * 60 + "…"
    assert shown_value("1\r\n2\n", 4) == "1↵2↵"


def test_the_panel_shows_visible_values_never_hidden_ones_and_links_to_the_submissions(
    client, people, course, assignment
):
    alice = answered(
        assignment,
        people["alice"],
        1,
        {"stdin": ("failed", "forty-two\n", None), "big": ("failed", SECRET, None)},
    )
    answered(assignment, people["bob"], 1, {"big": ("error", None, "KeyError")})
    client.force_login(people["ta"])
    html = client.get(reverse("analytics", args=["cs1", "add"])).content.decode()
    panel = html.split('id="wrong-answers"')[1]
    assert "forty-two↵" in panel and "Error: KeyError" in panel and "hidden tests show only the kind" in panel
    assert SECRET not in html  # neither in the tables nor in the charts
    assert "All 2 latest attempts pass." in panel  # "small"
    assert panel.count('role="img"') == 2  # a chart per test with wrong answers, beside its table
    stdin = by_name(assignment)["stdin"]
    link = f"/courses/cs1/add/submissions/?test={stdin.test_id}&amp;answer={stdin.answers[0].key}"
    assert link in panel

    listed = client.get(link.replace("&amp;", "&")).content.decode()
    assert "forty-two↵" in listed and listed.count('href="/submissions/') == 1
    assert f'href="/submissions/{alice.pk}/"' in listed
    big = by_name(assignment)["big"]
    hidden = client.get(
        "/courses/cs1/add/submissions/", {"test": big.test_id, "answer": big.answers[0].key}
    ).content.decode()
    assert (
        "the hidden test “big”" in hidden
        and SECRET not in hidden
        and hidden.count('href="/submissions/') == 1
    )


@pytest.mark.parametrize(
    "query,message",
    [
        ({"test": "x1", "answer": "other"}, "“x1” is not a test of this assignment"),
        ({"test": "999999", "answer": "other"}, "“999999” is not a test of this assignment"),
        ({"test": "{small}", "answer": "<b>"}, "“&lt;b&gt;” is not an answer key"),
        ({"test": "{small}"}, "needs both a test and an answer"),
    ],
)
def test_bad_answer_filters_are_explained_and_ignored(client, people, assignment, query, message):
    answered(assignment, people["alice"], 1, {"small": ("failed", "4", None)})
    answered(assignment, people["bob"], 1, {})
    small = assignment.tests.get(name="small").pk
    client.force_login(people["ta"])
    query = {k: v.format(small=small) for k, v in query.items()}
    html = client.get("/courses/cs1/add/submissions/", query).content.decode()
    assert message in html and html.count('href="/submissions/') == 2  # nothing filtered


def test_an_answer_nobody_gives_any_more_lists_nothing_and_says_why(client, people, assignment):
    answered(assignment, people["alice"], 1, {"small": ("failed", "4", None)})
    key = by_name(assignment)["small"].answers[0].key
    answered(assignment, people["alice"], 2, {})  # fixed it
    client.force_login(people["ta"])
    small = assignment.tests.get(name="small").pk
    html = client.get("/courses/cs1/add/submissions/", {"test": small, "answer": key}).content.decode()
    assert "gives this answer to “small” any more" in html and 'href="/submissions/' not in html


def test_the_panel_needs_the_same_queries_for_5_or_25_students(
    client, people, course, assignment, django_assert_num_queries
):
    client.force_login(people["instructor"])
    seen = []
    for size, start in ((5, 0), (20, 5)):
        for n in range(start, start + size):
            who = student(course, f"s{n}")
            answered(assignment, who, 1, {"small": ("failed", str(n % 7), None)})
            answered(
                assignment,
                who,
                2,
                {"small": ("failed", str(n % 9), None), "big": ("error", None, "TypeError")},
            )
        big = by_name(assignment)["big"]
        with CaptureQueriesContext(connection) as page:
            html = client.get(reverse("analytics", args=["cs1", "add"])).content.decode()
        with CaptureQueriesContext(connection) as listed:
            client.get("/courses/cs1/add/submissions/", {"test": big.test_id, "answer": big.answers[0].key})
        assert f"{start + size} of {start + size} latest attempts do not pass" in html
        seen.append((len(page), len(listed)))
    assert seen[0] == seen[1], seen
    with django_assert_num_queries(2):  # the tests, then one aggregate: not one per test either
        wrong_answers(assignment)
    assert seen[0][0] <= 16 and seen[0][1] <= 11, seen  # the panel adds two: the tests, one aggregate
