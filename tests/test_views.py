"""Pages and who may see them: log-in required, per-course roles, hidden details hidden."""

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
