"""Pages and who may see them: log-in required, per-course roles, hidden details hidden."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from courses.models import Assignment
from grading.models import Status, Submission, TestResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def graded(people, assignment):
    """alice's graded attempt: the hidden test failed with a revealing expected value."""
    submission = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": "x"},
        status=Status.GRADED,
        score=2,
        raw_score=2,
        max_score=3,
    )
    for order, test in enumerate(assignment.tests.all()):
        TestResult.objects.create(
            submission=submission,
            test_case=test,
            name=test.name,
            visible=test.visible,
            order=order,
            outcome="passed" if test.visible else "failed",
            points=test.points,
            points_earned=test.points if test.visible else 0,
            expected="SECRET-EXPECTED" if not test.visible else "3",
            actual="29",
            message="wrong value",
        )
    return submission


def get(client, user, name, *args):
    client.force_login(user)
    return client.get(reverse(name, args=args))


def test_it_requires_login(client, assignment):
    response = client.get(reverse("course", args=["cs1"]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_it_lists_the_students_courses(client, people, course):
    response = get(client, people["alice"], "dashboard")
    assert response.status_code == 200 and "CS 1" in response.content.decode()


def test_it_shows_the_assignment_with_rendered_markdown(client, people, assignment):
    response = get(client, people["alice"], "assignment", "cs1", "add")
    assert response.status_code == 200
    assert "<strong>two</strong>" in response.content.decode()


def test_it_sanitises_the_statement(client, people, assignment):
    assignment.statement = "hi <script>alert(1)</script> <a href='javascript:alert(1)'>x</a>"
    assignment.save()
    html = get(client, people["alice"], "assignment", "cs1", "add").content.decode()
    assert "<script>alert" not in html and "javascript:alert" not in html


@pytest.mark.parametrize(
    "name, args",
    [("course", ["cs1"]), ("assignment", ["cs1", "add"]), ("assignment_submissions", ["cs1", "add"])],
)
def test_it_gives_outsiders_404(client, people, assignment, name, args):
    assert get(client, people["charlie"], name, *args).status_code == 404


def test_it_gives_404_for_a_course_that_does_not_exist(client, people):
    assert get(client, people["alice"], "course", "nope").status_code == 404


def test_it_hides_drafts_from_students_but_not_staff(client, people, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(published=False)
    assert get(client, people["alice"], "assignment", "cs1", "add").status_code == 404
    assert get(client, people["ta"], "assignment", "cs1", "add").status_code == 200
    assert "add" not in get(client, people["alice"], "course", "cs1").content.decode().split("Assignments")[1]


def test_it_hides_the_submissions_list_from_students(client, people, assignment):
    assert get(client, people["alice"], "assignment_submissions", "cs1", "add").status_code == 404
    assert get(client, people["ta"], "assignment_submissions", "cs1", "add").status_code == 200


def test_it_shows_a_student_their_own_submission_without_hidden_details(client, people, graded):
    html = get(client, people["alice"], "submission", graded.pk).content.decode()
    assert "2.00</span> / 3.00" in html
    assert "SECRET-EXPECTED" not in html and "Details of hidden tests are not shown." in html


def test_it_does_not_show_a_submission_to_another_student(client, people, graded):
    assert get(client, people["bob"], "submission", graded.pk).status_code == 404
    assert get(client, people["bob"], "submission_live", graded.pk).status_code == 404
    assert get(client, people["charlie"], "submission", graded.pk).status_code == 404


def test_it_shows_staff_the_hidden_details(client, people, graded):
    html = get(client, people["ta"], "submission", graded.pk).content.decode()
    assert "SECRET-EXPECTED" in html


def test_it_shows_hidden_details_when_the_instructor_allows_it(client, people, graded):
    Assignment.objects.filter(pk=graded.assignment_id).update(show_hidden_details=True)
    assert "SECRET-EXPECTED" in get(client, people["alice"], "submission", graded.pk).content.decode()


def test_it_keeps_the_code_and_explains_a_rejected_submission(client, people, assignment):
    client.force_login(people["alice"])
    code = "x = '\u00e9'\n" + "#" * 300_000
    response = client.post(reverse("submit", args=["cs1", "add"]), {"code": code})
    html = response.content.decode()
    assert response.status_code == 400 and "the limit is 262,144 bytes" in html
    assert "#" * 1000 in html  # the pasted code is still in the editor
    assert not Submission.objects.exists()


def test_it_refuses_code_and_files_together(client, people, assignment):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people["alice"])
    upload = SimpleUploadedFile("solution.py", b"x = 1\n")
    response = client.post(reverse("submit", args=["cs1", "add"]), {"code": "x = 2", "files": upload})
    assert response.status_code == 400 and "not both" in response.content.decode()
    assert not Submission.objects.exists()


def test_it_accepts_an_uploaded_file(client, people, assignment):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(people["alice"])
    upload = SimpleUploadedFile("attempt.py", b"def add(a, b):\n    return a + b\n")
    response = client.post(reverse("submit", args=["cs1", "add"]), {"files": upload})
    assert response.status_code == 302
    assert Submission.objects.get().files == {"solution.py": "def add(a, b):\n    return a + b\n"}


def test_it_refuses_submitting_to_another_course(client, people, assignment):
    client.force_login(people["charlie"])
    response = client.post(reverse("submit", args=["cs1", "add"]), {"code": "x = 1"})
    assert response.status_code == 404 and not Submission.objects.exists()


def test_it_refuses_get_on_the_submit_url(client, people, assignment):
    assert get(client, people["alice"], "submit", "cs1", "add").status_code == 405


def test_a_student_rates_their_hint(client, people, graded):
    from feedback.models import Feedback

    Feedback.objects.create(submission=graded, hint="Check the bounds.", source="fallback")
    client.force_login(people["alice"])
    assert "Did this hint help?" in client.get(reverse("submission", args=[graded.pk])).content.decode()
    client.post(reverse("rate_hint", args=[graded.pk]), {"rating": "helpful"})
    assert Feedback.objects.get().rating == 1
    client.post(reverse("rate_hint", args=[graded.pk]), {"rating": "five stars"})
    assert Feedback.objects.get().rating == 1  # unchanged
    client.force_login(people["bob"])
    assert client.post(reverse("rate_hint", args=[graded.pk]), {"rating": "not_helpful"}).status_code == 404
    assert Feedback.objects.get().rating == 1


def test_a_student_sees_what_changed_between_attempts(client, people, assignment):
    first = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": "def add(a, b):\n    return a - b\n"},
    )
    second = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=2,
        files={"solution.py": "def add(a, b):\n    return a + b\n"},
    )
    client.force_login(people["alice"])
    html = client.get(reverse("attempt_diff", args=[second.pk])).content.decode()
    assert '<span class="diff-remove">-    return a - b</span>' in html
    assert '<span class="diff-add">+    return a + b</span>' in html
    assert "nothing to compare" in client.get(reverse("attempt_diff", args=[first.pk])).content.decode()
    client.force_login(people["bob"])
    assert client.get(reverse("attempt_diff", args=[second.pk])).status_code == 404


def test_the_submissions_list_filters_paginates_and_avoids_n_plus_one(
    client, people, assignment, django_assert_max_num_queries
):
    for n in range(1, 61):
        Submission.objects.create(
            assignment=assignment,
            student=people["alice" if n % 2 else "bob"],
            attempt=n,
            files={},
            status=Status.GRADED if n % 3 else Status.QUEUED,
            is_late=n % 5 == 0,
            score=1,
            raw_score=1,
            max_score=3,
        )
    client.force_login(people["ta"])
    url = reverse("assignment_submissions", args=["cs1", "add"])
    with django_assert_max_num_queries(12):
        html = client.get(url).content.decode()
    assert html.count('href="/submissions/') == 50 and "Page 1 of 2" in html
    assert client.get(url, {"page": 2}).content.decode().count('href="/submissions/') == 10
    only_bob_late = client.get(url, {"student": "bob", "late": "1"}).content.decode()
    assert (
        only_bob_late.count('href="/submissions/') == 6 and "alice" not in only_bob_late.split("<table>")[1]
    )
    queued = client.get(url, {"status": "queued"}).content.decode()
    assert queued.count('href="/submissions/') == 20
    Submission.objects.filter(attempt__lte=3).update(score=3, raw_score=3)
    Submission.objects.filter(attempt=4).update(override_score=0)
    assert client.get(url, {"min": "2.5"}).content.decode().count('href="/submissions/') == 3
    assert client.get(url, {"max": "0.5"}).content.decode().count('href="/submissions/') == 1
    assert "is not a number" in client.get(url, {"max": "1e999999"}).content.decode()
    bad = client.get(url, {"min": "lots"}).content.decode()
    assert "is not a number" in bad and bad.count('href="/submissions/') == 50


def test_the_dashboard_lists_assignments_with_progress(
    client, people, assignment, django_assert_max_num_queries
):
    Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={},
        status=Status.GRADED,
        score=2,
        raw_score=2,
        max_score=3,
    )
    Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=2,
        files={},
        status=Status.GRADED,
        score=1,
        raw_score=1,
        max_score=3,
    )
    for n in range(10):  # more assignments must not mean more queries
        other = Assignment.objects.create(
            course=assignment.course, slug=f"a{n}", title=f"A{n}", published=True
        )
        other.tests.create(name="t", kind="expr", spec={"expr": "1", "expected": "1"}, points=2)
        Submission.objects.create(
            assignment=other,
            student=people["alice"],
            attempt=1,
            files={},
            status=Status.GRADED,
            score=1,
            raw_score=1,
        )
    client.force_login(people["alice"])
    with django_assert_max_num_queries(8):
        html = client.get(reverse("dashboard")).content.decode()
    assert html.count("1.00 / 2.00") == 10
    row = html.split('href="/courses/cs1/add/"')[1].split("</tr>")[0]
    # The counted attempt (the last, by default), as in the gradebook: not the best score.
    assert "<td>2</td>" in row and "1.00 / 3.00" in row


def test_starter_files_download(client, people, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(
        starter_files={"solution.py": "def add(a, b):\n    pass\n"}
    )
    client.force_login(people["alice"])
    response = client.get(reverse("starter_file", args=["cs1", "add", "solution.py"]))
    assert response.status_code == 200 and response.content.startswith(b"def add")
    assert "attachment" in response["Content-Disposition"]
    assert client.get(reverse("starter_file", args=["cs1", "add", "other.py"])).status_code == 404
    client.force_login(people["charlie"])
    assert client.get(reverse("starter_file", args=["cs1", "add", "solution.py"])).status_code == 404


# The assignment page: the editor holds the student's latest code, and the page says where they
# stand (attempts used and left, the wait, which attempt counts, deadlines and the late rule).


def attempt(assignment, student, n, code="x = 1\n", status=Status.GRADED, score=None, **fields):
    submission = Submission.objects.create(
        assignment=assignment,
        student=student,
        attempt=n,
        files={"solution.py": code},
        status=status,
        score=score,
        raw_score=score,
        max_score=3,
        **fields,
    )
    return submission


def page(client, user, **cookies):
    client.force_login(user)
    for name, value in cookies.items():
        client.cookies[name] = value
    response = client.get(reverse("assignment", args=["cs1", "add"]))
    assert response.status_code == 200
    return response.content.decode()


def editor_text(html):
    import html as html_module

    textarea = html.split('name="code"')[1].split(">", 1)[1].split("</textarea>")[0]
    return html_module.unescape(textarea).lstrip("\n")


def test_the_editor_opens_with_the_latest_attempt_else_the_starter_code(client, people, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(
        starter_files={"solution.py": "def add(a, b):\n    pass\n"}
    )
    html = page(client, people["alice"])
    assert editor_text(html) == "def add(a, b):\n    pass\n"
    assert 'id="starter-code" type="application/json">"def add(a, b):\\n    pass\\n"' in html
    attempt(assignment, people["alice"], 1, "def add(a, b):\n    return a - b  # <one>\n", score=1)
    attempt(assignment, people["alice"], 2, "def add(a, b):\n    return a + b  # two\n", status=Status.ERROR)
    attempt(assignment, people["bob"], 1, "bob's code\n")
    html = page(client, people["alice"])
    # The latest attempt, whatever its status (here not gradable), and nobody else's.
    assert editor_text(html) == "def add(a, b):\n    return a + b  # two\n"
    assert "Your code from attempt 2, your latest." in html
    # The draft in the browser is keyed by user, course and assignment.
    alice, course = people["alice"], assignment.course
    assert (
        f'data-draft-user="{alice.pk}" data-draft-course="{course.pk}" '
        f'data-draft-assignment="{assignment.pk}" data-latest-attempt="2"'
    ) in html
    assert 'id="starter-reset"' in html and 'type="button"' in html.split('id="starter-reset"')[0][-80:]
    assert editor_text(page(client, people["bob"])) == "bob's code\n"


def test_uploading_files_leaves_the_untouched_latest_code_alone(client, people, assignment):
    from django.core.files.uploadedfile import SimpleUploadedFile

    attempt(assignment, people["alice"], 1, "def add(a, b):\n    return 0\n", score=0)
    client.force_login(people["alice"])
    upload = SimpleUploadedFile("mine.py", b"def add(a, b):\n    return a + b\n")
    response = client.post(
        reverse("submit", args=["cs1", "add"]), {"code": "def add(a, b):\n    return 0\n", "files": upload}
    )
    assert response.status_code == 302
    assert Submission.objects.get(attempt=2).files == {"solution.py": "def add(a, b):\n    return a + b\n"}


def test_the_submission_page_tells_the_browser_which_draft_was_sent(client, people, graded):
    html = get(client, people["alice"], "submission", graded.pk).content.decode()
    assert f'data-draft-sent="1" data-draft-user="{people["alice"].pk}"' in html
    assert "js/assignment.js" in html
    html = get(client, people["ta"], "submission", graded.pk).content.decode()
    assert "data-draft-sent" not in html  # staff reading it: not their draft


def test_it_shows_attempts_used_and_left_counting_only_charged_ones(client, people, assignment):
    from grading.services import SubmissionRejected, Upload, do_submit

    Assignment.objects.filter(pk=assignment.pk).update(attempt_limit=3)
    attempt(assignment, people["alice"], 1, score=1)
    attempt(assignment, people["alice"], 2, status=Status.ERROR)
    attempt(assignment, people["alice"], 3, status=Status.REJECTED)
    attempt(assignment, people["alice"], 4, status=Status.QUEUED)
    html = page(client, people["alice"])
    assert "2 of 3 used, <strong>1 left</strong>." in html
    rows = html.split('id="attempts-table"')[1].split("</table>")[0].split("<tr>")
    free = [row for row in rows if '<span class="tag">free</span>' in row]
    assert len(free) == 2 and "Not gradable" in free[0] + free[1] and "Rejected" in free[0] + free[1]
    assert '<button type="submit" id="submit-button">Submit</button>' in html
    do_submit(people["alice"], Assignment.objects.get(pk=assignment.pk), [Upload("solution.py", b"x=1")])
    html = page(client, people["alice"])
    assert "3 of 3 used, <strong>0 left</strong>." in html
    assert "You have used all 3 attempts for this assignment." in html
    assert (
        '<button type="submit" id="submit-button" disabled aria-describedby="submit-state">Submit</button>'
        in html
    )
    with pytest.raises(SubmissionRejected, match="all 3 attempts"):  # the page and the rule agree
        do_submit(people["alice"], Assignment.objects.get(pk=assignment.pk), [Upload("solution.py", b"x=1")])
    assert "0 of 3 used, <strong>3 left</strong>." in page(client, people["bob"])
    Assignment.objects.filter(pk=assignment.pk).update(attempt_limit=None)
    assert "3 used, no limit." in page(client, people["alice"])


def test_it_says_which_attempt_counts(client, people, assignment):
    attempt(assignment, people["alice"], 1, score=3)
    second = attempt(assignment, people["alice"], 2, score=1)
    attempt(assignment, people["alice"], 3, status=Status.QUEUED)
    html = page(client, people["alice"])
    assert f'<strong>1.00 / 3.00</strong> from <a href="/submissions/{second.pk}/">attempt 2</a>.' in html
    assert "Your last graded attempt counts." in html
    counted_rows = [r for r in html.split("<tr>") if "tag counted" in r]
    assert len(counted_rows) == 1 and f"/submissions/{second.pk}/" in counted_rows[0]
    Assignment.objects.filter(pk=assignment.pk).update(counted_submission="best")
    html = page(client, people["alice"])
    assert "<strong>3.00 / 3.00</strong> from" in html and ">attempt 1</a>." in html
    assert "Your best graded attempt counts." in html
    html = page(client, people["bob"])
    assert "Your best graded attempt counts." in html and "<strong>" not in html.split('id="counted"')[1][:40]


def test_it_shows_the_wait_before_the_next_attempt(client, people, assignment):
    import re
    from datetime import timedelta

    from django.utils import timezone

    Assignment.objects.filter(pk=assignment.pk).update(min_seconds_between_attempts=600)
    html = page(client, people["alice"])
    assert "Wait at least 10 min between attempts." in html and "You can submit again" not in html
    charged = attempt(assignment, people["alice"], 1, score=1)
    free = attempt(assignment, people["alice"], 2, status=Status.ERROR)
    now = timezone.now()
    Submission.objects.filter(pk=charged.pk).update(submitted_at=now - timedelta(seconds=100))
    Submission.objects.filter(pk=free.pk).update(submitted_at=now)  # costs no attempt, no wait
    html = page(client, people["alice"])
    state = html.split('id="submit-state"')[1].split("</p>")[0]
    assert re.search(r'data-wait-seconds="(499|500)"', state), state
    assert re.search(r"You can submit again in <span[^>]*>8 min (19|20) s</span>", state), state
    assert '<time class="local" datetime="' in state  # when, in the reader's zone
    Submission.objects.filter(pk=charged.pk).update(submitted_at=now - timedelta(seconds=601))
    assert "You can submit again" not in page(client, people["alice"])


def test_it_shows_the_deadline_and_late_rule_in_the_readers_time_zone(client, people, assignment):
    from datetime import UTC, datetime

    Assignment.objects.filter(pk=assignment.pk).update(
        deadline=datetime(2030, 1, 15, 12, 0, tzinfo=UTC),
        hard_deadline=datetime(2030, 1, 17, 12, 0, tzinfo=UTC),
        late_policy="penalty",
        late_penalty_percent=10,
        late_penalty_unit="day",
        late_penalty_cap_percent=50,
    )
    sent = attempt(assignment, people["alice"], 1, score=1)
    Submission.objects.filter(pk=sent.pk).update(submitted_at=datetime(2029, 12, 31, 23, 30, tzinfo=UTC))
    html = page(client, people["alice"], tz="America/New_York")
    deadline = html.split('id="deadline"')[1].split("</dd>")[0]
    assert '<time class="local" datetime="2030-01-15T07:00:00-05:00">2030-01-15 07:00 EST</time>' in deadline
    assert "(in " in deadline
    rule = html.split('id="late-rule"')[1].split("</dd>")[0]
    assert "Late work loses 10% per started day, at most 50%." in rule
    assert '<time class="local" datetime="2030-01-17T07:00:00-05:00">2030-01-17 07:00 EST</time>' in rule
    # The attempts' times too, in the same zone and the same way.
    assert '<time class="local" datetime="2029-12-31T18:30:00-05:00">2029-12-31 18:30 EST</time>' in html
    # Without the browser's zone (no cookie yet): the server's zone, which live.js then localises.
    client.cookies.pop("tz")
    html = page(client, people["alice"])
    assert '<time class="local" datetime="2030-01-15T12:00:00+00:00">2030-01-15 12:00 UTC</time>' in html


def test_it_says_what_submitting_now_costs_or_that_it_is_closed(client, people, assignment):
    from datetime import timedelta

    from django.utils import timezone

    from courses.models import Extension

    now = timezone.now()
    Assignment.objects.filter(pk=assignment.pk).update(
        deadline=now - timedelta(hours=25), late_policy="penalty", late_penalty_percent=10
    )
    html = page(client, people["alice"])
    assert "The deadline has passed: an attempt submitted now loses 20%." in html
    assert "passed 1\xa0day" in html.split('id="deadline"')[1].split("</dd>")[0]
    Assignment.objects.filter(pk=assignment.pk).update(late_policy="reject")
    html = page(client, people["alice"])
    assert "Late work is not accepted." in html
    assert "this assignment does not accept late submissions" in html.split('id="submit-state"')[1]
    assert '<button type="submit" id="submit-button" disabled' in html
    # An extension replaces the deadlines, on the page as in the rule.
    Extension.objects.create(assignment=assignment, student=people["alice"], deadline=now + timedelta(days=2))
    html = page(client, people["alice"])
    assert "Your deadline" in html and "Extended for you; the course's deadline is" in html
    assert (
        'id="submit-state"' not in html and '<button type="submit" id="submit-button">Submit</button>' in html
    )
    assert '<button type="submit" id="submit-button" disabled' in page(client, people["bob"])


def test_it_words_waits_for_people():
    from web.course_views import duration_text

    assert [duration_text(s) for s in (0.2, 45, 60, 250, 3600, 7500.5)] == [
        "1 s",
        "45 s",
        "1 min",
        "4 min 10 s",
        "1 h",
        "2 h 5 min",
    ]


# -- how results read: labels, not codes; failing tests first and whole; long texts cut ------------
class _Visibility(HTMLParser):
    """Each text of a page with whether a reader sees it without opening anything: text inside a
    closed <details> is hidden, except its <summary>."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []  # (tag, open) for <details>; (tag, True) otherwise
        self.texts: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append((tag, tag != "details" or "open" in dict(attrs)))

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if data.strip():
            self.texts.append((data, self._visible()))

    def _visible(self) -> bool:
        for i, (tag, is_open) in enumerate(self.stack):
            in_summary = i + 1 < len(self.stack) and self.stack[i + 1][0] == "summary"
            if tag == "details" and not is_open and not in_summary:
                return False
        return True


def visibility(html: str) -> _Visibility:
    parser = _Visibility()
    parser.feed(html)
    return parser


def seen(html: str, text: str) -> bool:
    """Whether ``text`` is in the page and visible without opening anything."""
    return any(text in data and shown for data, shown in visibility(html).texts)


def hidden_but_sent(html: str, text: str) -> bool:
    texts = visibility(html).texts
    return any(text in data for data, _ in texts) and not seen(html, text)


RAW_NAMES = ("Outcome.", "Status.", "TrialStatus.", "TrialPurpose.", "RunStatus.")


@pytest.fixture
def long_results(people, assignment):
    """alice's attempt: "small" passed, "stdin" failed with 10,000 lines of output and 2 MB on
    stderr, the hidden "big" timed out."""
    submission = Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={"solution.py": "x"},
        status=Status.GRADED,
        score=1,
        raw_score=1,
        max_score=3,
    )
    small, stdin, big = assignment.tests.order_by("order")
    long_output = "".join(f"{i}\n" for i in range(1, 10_001))
    for order, (test, outcome, fields) in enumerate(
        [
            (small, "passed", {"expected": "PASSING-EXPECTED", "actual": "PASSING-EXPECTED"}),
            (
                stdin,
                "failed",
                {
                    "message": "output differs",
                    "test_input": "2 3\n",
                    "expected": "five\n",
                    "actual": long_output,
                    "stdout": long_output,
                    "stderr": "warning: noisy\n" * 150_000,
                },
            ),
            (big, "timeout", {"message": "time limit exceeded", "expected": "30"}),
        ]
    ):
        TestResult.objects.create(
            submission=submission,
            test_case=test,
            name=test.name,
            visible=test.visible,
            order=order,
            outcome=outcome,
            points=test.points,
            points_earned=test.points if outcome == "passed" else 0,
            **fields,
        )
    return submission


@pytest.mark.parametrize("who", ["alice", "ta", "instructor"])
def test_pages_show_outcome_and_status_labels_never_raw_names(client, people, long_results, who):
    for name in ("submission", "submission_live"):
        html = get(client, people[who], name, long_results.pk).content.decode()
        assert not [raw for raw in RAW_NAMES if raw in html], name
        assert "{#" not in html and "{%" not in html  # no template comment or tag leaks as text
        assert seen(html, "Graded") and seen(html, "Failed") and seen(html, "Time limit exceeded")
        assert "Passed" in html  # folded away with the passing tests
        assert 'data-status="graded"' in html and "outcome-timeout" in html  # codes stay for scripts and CSS


def test_the_reference_check_page_shows_labels_never_raw_names(client, people, assignment):
    from grading.models import TrialPurpose, TrialRun, TrialStatus

    rows = [
        {
            "name": "small",
            "visible": True,
            "outcome": "passed",
            "points": "1.00",
            "expected": "3",
            "actual": "3",
        },
        {
            "name": "big",
            "visible": False,
            "outcome": "timeout",
            "points": "1.00",
            "message": "time limit exceeded",
        },
        {
            "name": "odd",
            "visible": True,
            "outcome": "memory",
            "points": "1.00",
            "expected": None,
            "actual": None,
        },
    ]
    trial = TrialRun.objects.create(
        assignment=assignment,
        purpose=TrialPurpose.REFERENCE,
        files={"solution.py": "x"},
        status=TrialStatus.DONE,
        results=rows,
        passed=1,
        total=3,
    )
    html = get(
        client, people["instructor"], "reference_check_result", "cs1", "add", trial.pk
    ).content.decode()
    assert not [raw for raw in RAW_NAMES if raw in html]
    assert "2 tests fail with the reference solution" in html
    assert seen(html, "Time limit exceeded") and seen(html, "Memory limit exceeded")
    assert seen(html, "1 test passed") and hidden_but_sent(html, "Passed")


def test_failing_tests_come_first_and_whole_passing_ones_are_folded(client, people, long_results):
    html = get(client, people["ta"], "submission", long_results.pk).content.decode()
    # The passing test: one summary line; its details are sent, inside a closed <details>.
    assert seen(html, "1 test passed")
    assert hidden_but_sent(html, "PASSING-EXPECTED")
    assert '<details class="passed-tests" id="passed">' in html  # closed: no "open"
    # The tests that did not pass come first, their details in the open.
    assert html.index("stdin") < html.index("1 test passed") and html.index("big") < html.index(
        "1 test passed"
    )
    assert (
        seen(html, "2 tests did not pass")
        and seen(html, "output differs")
        and seen(html, "time limit exceeded")
    )


def opened(html: str, *ids: str) -> str:
    """The page as a reader sees it after opening these <details>."""
    for id_ in ids:
        html = re.sub(rf'(<details[^>]* id="{id_}")', r"\1 open", html)
    return html


def test_long_outputs_are_cut_for_display_with_a_way_to_see_all(client, people, long_results):
    html = get(client, people["ta"], "submission", long_results.pk).content.decode()
    key = f"r{long_results.results.get(name='stdin').pk}"
    # 10,000 lines against one: the diff says what differs, its first lines in the open, up to
    # a thousand more behind "Show more"; never all 10,002 lines of markup.
    assert seen(html, "Difference (") and seen(html, "+10")
    assert seen(html, "Show more (1,020 of 10,002 lines of the difference)")
    assert "The last 8,982 lines are not shown here." in html
    # The values in full are folded behind it; opened, the 10,000 lines are cut again.
    assert seen(html, "Expected and got, in full") and hidden_but_sent(html, "\n20\n")
    values = opened(html, f"{key}-values")
    assert seen(values, "Show all 10,000 lines") and seen(values, "\n20\n")
    assert hidden_but_sent(values, "\n9999\n10000\n")
    assert seen(opened(values, f"{key}-got-more"), "\n9999\n10000\n")
    # 2 MB of error output: folded, cut, and never sent whole.
    assert hidden_but_sent(html, "warning: noisy") and "characters are not shown here" in html
    assert seen(opened(html, f"{key}-stderr"), "Show more (100,000 of 2,250,000 characters)")
    assert len(html) < 400_000
    # What is stored stays whole.
    stored = long_results.results.get(name="stdin")
    assert stored.actual.count("\n") == 10_000 and len(stored.stderr) == 15 * 150_000


def test_the_live_part_carries_the_staff_controls_and_says_when_a_regrade_is_on(client, people, long_results):
    live = get(client, people["instructor"], "submission_live", long_results.pk).content.decode()
    assert "Regrade this submission" in live and 'id="override-score"' in live and "data-keep=" in live
    student = get(client, people["alice"], "submission_live", long_results.pk).content.decode()
    assert "Regrade this submission" not in student and "override" not in student.lower()
    Submission.objects.filter(pk=long_results.pk).update(status=Status.QUEUED)  # a regrade, queued
    live = get(client, people["instructor"], "submission_live", long_results.pk).content.decode()
    assert "Being graded again" in live and 'data-done="0"' in live
    assert "Regrade this submission" not in live and 'id="override-score"' not in live
    assert "once grading is done" in live


def test_the_message_that_grading_started_is_marked_to_go_when_it_ends(client, people, assignment):
    """static/js/live.js removes messages marked "while-grading" once the status is final."""
    client.force_login(people["alice"])
    response = client.post(
        reverse("submit", args=["cs1", "add"]), {"code": "def add(a, b):\n    return a + b\n"}, follow=True
    )
    html = response.content.decode()
    assert "grading has started" in html and 'class="while-grading success"' in html
