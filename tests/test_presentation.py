"""How submissions are shown: code listings (escaped, highlighted, hint line marked), expected vs
actual diffs, and times in the reader's zone."""

import pytest
from django.urls import reverse

from feedback.models import Feedback
from grading.models import Status, Submission, TestResult
from grading.presentation import code_listings, text_diff
from web.templatetags.display import inline_code

HOSTILE = "def f():\n    return '</code><script>alert(1)</script>'\n"


def test_code_listings_escape_student_code_and_mark_the_hint_line():
    [main, other] = code_listings({"util.py": "x = 1\n", "solution.py": HOSTILE}, "solution.py", 2)
    assert main.name == "solution.py"  # the main file first
    assert "<script>" not in main.html and "&lt;script&gt;" in main.html
    assert f'<span id="{main.anchor}-2"><span class="hll">' in main.html
    assert f'<span id="{main.anchor}-1"><span class="hll">' not in main.html
    assert "hll" not in other.html  # the hint's line refers to the main file only
    assert main.anchor != other.anchor


def test_text_diff_shows_changed_lines_and_makes_trailing_spaces_visible():
    assert text_diff("1\n2\n3\n", "1\n5\n3\n", "expected", "got") == [
        ("hunk", "@@ -1,3 +1,3 @@"),
        ("context", " 1"),
        ("remove", "-2"),
        ("add", "+5"),
        ("context", " 3"),
    ]
    assert ("add", "+42··") in text_diff("42", "42  ", "expected", "got")
    assert text_diff("same\n", "same\n", "a", "b") == []


@pytest.mark.django_db
def test_the_submission_page_shows_a_diff_and_the_highlighted_hint_line(client, people, assignment):
    submission = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": "def add(a, b):\n    return a - b\n"},
        status=Status.GRADED,
        score=0,
        raw_score=0,
        max_score=3,
    )
    for order, (test, expected, actual) in enumerate(
        [("small", "1\n3\n", "1\n-1\n"), ("big", "SECRET", "-10"), ("stdin", "5\n", "5\n")]
    ):
        TestResult.objects.create(
            submission=submission,
            name=test,
            visible=test != "big",
            order=order,
            outcome="passed" if expected == actual else "failed",
            points=1,
            points_earned=0,
            expected=expected,
            actual=actual,
        )
    Feedback.objects.create(submission=submission, hint="Look at the operator.", line=2, source="fallback")
    client.force_login(people["alice"])
    html = client.get(reverse("submission", args=[submission.pk])).content.decode()
    assert '<span class="diff-remove">-3</span><span class="diff-add">+-1</span>' in html
    assert "SECRET" not in html and html.count("Difference (") == 1  # hidden: no diff; passed: none
    assert 'data-hint-line="f0-L-2"' in html and 'href="#f0-L-2"' in html
    assert '<span id="f0-L-2"><span class="hll">' in html


@pytest.mark.django_db
def test_times_are_shown_in_the_zone_the_browser_reported(client, people, assignment):
    import datetime as dt

    assignment.deadline = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assignment.save()
    client.force_login(people["alice"])
    url = reverse("course", args=["cs1"])
    assert "2026-12-01 12:00 UTC" in client.get(url).content.decode()
    client.cookies["tz"] = "Asia/Tokyo"
    assert "2026-12-01 21:00 JST" in client.get(url).content.decode()
    client.cookies["tz"] = "../../etc/passwd"
    assert "2026-12-01 12:00 UTC" in client.get(url).content.decode()


@pytest.mark.django_db
def test_the_late_penalty_is_explained(client, people, assignment):
    import datetime as dt
    from decimal import Decimal

    from courses.models import Extension
    from grading.scoring import explain_lateness

    deadline = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
    assignment.deadline, assignment.late_policy = deadline, "penalty"
    assignment.late_penalty_percent, assignment.late_penalty_unit = Decimal("10"), "day"
    assignment.late_penalty_cap_percent = Decimal("50")
    assignment.save()
    late = deadline + dt.timedelta(days=1, hours=3)
    assert explain_lateness(assignment, late, Decimal("20")).replace("\xa0", " ") == (
        "Submitted 1 day, 3 hours after the deadline. "
        "Late work loses 10% per started day, at most 50%: here 20%."
    )
    extension = Extension(
        assignment=assignment, student=people["alice"], deadline=deadline + dt.timedelta(days=1)
    )
    assert (
        explain_lateness(assignment, late, Decimal("10"), extension)
        .replace("\xa0", " ")
        .startswith("Submitted 3 hours after your extended deadline.")
    )
    assert explain_lateness(assignment, deadline, Decimal("0")) == ""
    submission = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": "x = 1\n"},
        status=Status.GRADED,
        submitted_at=late,
        is_late=True,
        late_penalty_percent=20,
        raw_score=3,
        score=Decimal("2.40"),
        max_score=3,
    )
    Submission.objects.filter(pk=submission.pk).update(submitted_at=late)  # auto_now_add ignores the value
    client.force_login(people["alice"])
    html = client.get(reverse("submission", args=[submission.pk])).content.decode()
    assert "3.00 before a 20.00% late penalty" in html
    assert "Late work loses 10% per started day, at most 50%: here 20%." in html


@pytest.mark.django_db
def test_the_live_page_keeps_polling_while_the_model_may_replace_an_automatic_hint(
    client, people, assignment
):
    from feedback.models import FeedbackRequest, RequestStatus

    submission = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={},
        status=Status.GRADED,
        score=0,
        raw_score=0,
    )
    request = FeedbackRequest.objects.create(submission=submission, status=RequestStatus.PENDING)
    Feedback.objects.create(submission=submission, hint="Automatic.", source="fallback")
    client.force_login(people["alice"])
    url = reverse("submission_live", args=[submission.pk])
    html = client.get(url).content.decode()
    assert 'data-done="0"' in html and "the model's hint will replace it" in html
    request.status = RequestStatus.DONE
    request.save()
    html = client.get(url).content.decode()
    assert 'data-done="1"' in html and "will replace it" not in html


def test_short_texts_are_shown_whole_and_long_ones_cut_with_the_rest_behind_show_all():
    from grading.presentation import clip

    whole = clip("1\n2\n3\n")
    assert whole.head == "1\n2\n3\n" and not whole.cut
    many = "".join(f"{i}\n" for i in range(1, 41))
    cut = clip(many)
    assert cut.head == "".join(f"{i}\n" for i in range(1, 21)) and cut.head + cut.rest == many
    assert cut.more == "Show all 40 lines" and not cut.note
    one_line = clip("x" * 5_000)
    assert len(one_line.head) == 2_000 and one_line.more == "Show all 5,000 characters"
    # Two short lines, then a very long one: the head does not stop at two lines.
    assert len(clip("a\nb\n" + "y" * 9_000).head) == 2_000


def test_a_page_never_carries_megabytes_of_output():
    from grading.presentation import MAX_SENT, PAGE_BUDGET, Budget, ResultList, ResultView, clip

    huge = clip("z" * 3_000_000)
    assert len(huge.head) + len(huge.rest) == MAX_SENT and huge.left_out == 3_000_000 - MAX_SENT
    assert huge.note == f"The last {3_000_000 - MAX_SENT:,} characters are not shown here."
    budget = Budget()
    views = ResultList(
        [
            ResultView(f"t{i}", True, "failed", True, f"r{i}", stderr="e\n" * 60_000, budget=budget)
            for i in range(30)
        ]
    )
    sent = sum(len(v.error_output.head) + len(v.error_output.rest) for v in views)
    assert sent <= PAGE_BUDGET + 30 * 2_000  # the heads are always shown
    assert views.views[0].error_output.rest and not views.views[-1].error_output.rest


def test_values_of_one_line_are_compared_side_by_side_without_a_diff_unless_only_whitespace_differs():
    from grading.presentation import ResultView

    def view(expected, actual):
        return ResultView("t", True, "failed", True, "r1", expected=expected, actual=actual)

    assert view("3", "-1").diff is None and view("5\n", "-1\n").diff is None
    spaces = view("42", "42  ")
    assert spaces.whitespace_only and ("add", "+42··") in spaces.diff.head
    assert view("1\n2\n", "1\n3\n").diff.head == [
        ("hunk", "@@ -1,2 +1,2 @@"),
        ("context", " 1"),
        ("remove", "-2"),
        ("add", "+3"),
    ]


@pytest.mark.parametrize(
    "text, html",
    [
        (
            "move it into `if __name__ == '__main__':` now",
            "move it into <code>if __name__ == &#x27;__main__&#x27;:</code> now",
        ),
        (
            "`<script>alert(1)</script>` & <b>",
            "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code> &amp; &lt;b&gt;",
        ),
        ("one ` backtick <i>", "one ` backtick &lt;i&gt;"),  # no pair: nothing is code
        ("```\nx = 1\n```", "<code>\nx = 1\n</code>"),
        ("", ""),
    ],
)
def test_backticked_code_in_hints_and_findings_is_shown_as_code_and_nothing_else_is_markup(text, html):
    assert str(inline_code(text)) == html
