"""Instructors author assignments, tests (a form per kind) and rubric items on the site.
Bad input gets a clear message and saves nothing; only instructors may author."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from api.serializers import AssignmentAuthorSerializer, AssignmentWriteSerializer
from courses.assignments import AUTHORED_FIELDS, FILE_FIELDS, free_slug
from courses.markdown import render as render_markdown
from courses.models import Assignment, TestCase
from grading.models import Status, Submission
from tests.conftest import CORRECT, login
from web.authoring_forms import AssignmentForm

pytestmark = pytest.mark.django_db

SETTINGS = {
    "title": "Search",
    "slug": "search",
    "statement": "Write `search(x, items)`.",
    "module_name": "solution",
    "starter_code": "def search(x, items):\n    pass\n",
    "reference_code": "def search(x, items):\n    return items.index(x) if x in items else -1\n",
    "setup_code": "sample = (1, 3, 5)",
    "deadline": "2026-12-01T17:00",
    "hard_deadline": "",
    "late_policy": "penalty",
    "late_penalty_percent": "10",
    "late_penalty_unit": "day",
    "late_penalty_cap_percent": "50",
    "attempt_limit": "5",
    "min_seconds_between_attempts": "30",
    "counted_submission": "best",
    "memory_mb": "256",
    "cpus": "1",
    "pids_limit": "64",
    "wall_seconds": "60",
    "llm_hints": "on",
    "show_hidden_details": "",
}


def test_an_instructor_creates_a_draft_with_settings_starter_and_reference(client, people, course):
    login(client, people["instructor"])
    client.cookies["tz"] = "Europe/Paris"  # set by static/js/live.js from the browser
    response = client.post(reverse("assignment_create", args=["cs1"]), SETTINGS)
    assert response.status_code == 302
    assert response["Location"] == reverse("assignment_edit", args=["cs1", "search"])
    a = Assignment.objects.get(course=course, slug="search")
    assert not a.published and a.counted_submission == "best" and a.attempt_limit == 5
    assert a.starter_files == {"solution.py": SETTINGS["starter_code"]}
    assert a.reference_files == {"solution.py": SETTINGS["reference_code"]}
    assert a.setup_code == "sample = (1, 3, 5)" and a.llm_hints and not a.show_hidden_details
    # 17:00 typed in Paris in December is 16:00 UTC.
    assert a.deadline == dt.datetime(2026, 12, 1, 16, 0, tzinfo=dt.UTC)
    page = client.get(reverse("assignment_edit", args=["cs1", "search"])).content.decode()
    assert 'value="2026-12-01T17:00"' in page and "Europe/Paris" in page


def test_a_bad_assignment_form_says_what_is_wrong_and_saves_nothing(client, people, course, assignment):
    login(client, people["instructor"])
    bad = {
        **SETTINGS,
        "slug": "add",
        "memory_mb": "8",
        "late_penalty_cap_percent": "150",
        "module_name": "my-mod",
    }
    response = client.post(reverse("assignment_create", args=["cs1"]), bad)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert "already uses this slug" in page
    assert "Ensure this value is greater than or equal to 32" in page
    assert "At most 100%" in page or "less than or equal to 100" in page
    assert "Python identifier" in page
    assert Assignment.objects.filter(course=course).count() == 1
    # What was typed is kept in the form.
    assert SETTINGS["reference_code"].split("\n")[1].strip() in page.replace("&gt;", ">").replace(
        "&#x27;", "'"
    )


def test_editing_keeps_the_saved_assignment_when_the_new_values_are_bad(client, people, assignment):
    login(client, people["instructor"])
    url = reverse("assignment_edit", args=["cs1", "add"])
    response = client.post(url, {**SETTINGS, "slug": "add", "title": "", "wall_seconds": "0"})
    assert response.status_code == 400
    assignment.refresh_from_db()
    assert assignment.title == "Add" and assignment.wall_seconds > 0
    response = client.post(url, {**SETTINGS, "slug": "add", "title": "Add, again"})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.title == "Add, again"
    assert assignment.reference_files["solution.py"] == SETTINGS["reference_code"]


def test_slug_and_module_are_fixed_once_students_have_submitted(client, people, assignment):
    Submission.objects.create(
        assignment=assignment, student=people["alice"], attempt=1, files={"solution.py": CORRECT}
    )
    login(client, people["instructor"])
    url = reverse("assignment_edit", args=["cs1", "add"])
    response = client.post(url, {**SETTINGS, "slug": "renamed", "module_name": "other", "title": "Add"})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert (assignment.slug, assignment.module_name) == ("add", "solution")


@pytest.mark.parametrize(
    "kind, fields, spec",
    [
        (
            "io",
            {"stdin": "2 3\n", "stdout": "5\n", "compare": "numeric", "abs_tol": "0.01"},
            {"stdin": "2 3\n", "stdout": "5\n", "compare": "numeric", "abs_tol": 0.01},
        ),
        ("expr", {"expr": "add(2, 2)", "expected": "4"}, {"expr": "add(2, 2)", "expected": "4"}),
        (
            "pytest",
            {"source": "from solution import add\n\ndef test_it():\n    assert add(1, 1) == 2\n"},
            {"source": "from solution import add\n\ndef test_it():\n    assert add(1, 1) == 2\n"},
        ),
    ],
)
def test_a_form_per_test_kind(client, people, assignment, kind, fields, spec):
    login(client, people["instructor"])
    url = reverse("test_create", args=["cs1", "add", kind])
    assert client.get(url).status_code == 200
    data = {"name": f"new {kind}", "points": "2", "time_limit": "3", **fields}  # visible unchecked: hidden
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()
    test = assignment.tests.get(name=f"new {kind}")
    assert (test.kind, test.visible, test.points, test.time_limit) == (kind, False, 2, 3.0)
    assert test.spec == spec
    assert test.order == 3  # after the three existing tests
    test.to_sandbox()  # the sandbox accepts what the form saved


def test_a_pytest_file_can_be_uploaded(client, people, assignment):
    login(client, people["instructor"])
    source = b"from solution import add\n\ndef test_upload():\n    assert add(2, 5) == 7\n"
    response = client.post(
        reverse("test_create", args=["cs1", "add", "pytest"]),
        {
            "name": "uploaded",
            "points": "1",
            "time_limit": "5",
            "visible": "on",
            "upload": SimpleUploadedFile("test_x.py", source),
        },
    )
    assert response.status_code == 302
    assert assignment.tests.get(name="uploaded").spec == {"source": source.decode()}


@pytest.mark.parametrize(
    "kind, fields, message",
    [
        ("expr", {"expr": "add(1,", "expected": "3"}, "expression does not parse"),
        ("expr", {"expr": "add(1, 2)", "expected": "three"}, "not a Python literal"),
        ("io", {"stdout": "([", "compare": "regex"}, "not a valid regular expression"),
        ("io", {"stdout": "5", "compare": "sideways"}, "Select a valid choice"),
        ("pytest", {"source": "def test_x(:\n"}, "does not parse"),
        ("pytest", {"source": ""}, "Upload a pytest file or write one"),
        ("expr", {"name": "small", "expr": "add(1, 2)", "expected": "3"}, "already has a test named"),
        ("expr", {"expr": "add(1, 2)", "expected": "3", "points": "-1"}, "greater than or equal to 0"),
    ],
)
def test_bad_tests_are_refused_with_the_reason_and_nothing_saved(
    client, people, assignment, kind, fields, message
):
    login(client, people["instructor"])
    data = {"name": "bad", "points": "1", "time_limit": "5", **fields}
    response = client.post(reverse("test_create", args=["cs1", "add", kind]), data)
    assert response.status_code == 400
    page = response.content.decode().replace("&#x27;", "'")
    assert message in page and "Nothing was saved" in page
    assert assignment.tests.count() == 3


def test_a_binary_pytest_upload_is_refused(client, people, assignment):
    login(client, people["instructor"])
    response = client.post(
        reverse("test_create", args=["cs1", "add", "pytest"]),
        {
            "name": "bin",
            "points": "1",
            "time_limit": "5",
            "upload": SimpleUploadedFile("t.py", b"\xff\xfe\x00"),
        },
    )
    assert response.status_code == 400 and b"not UTF-8" in response.content
    assert assignment.tests.count() == 3


def test_editing_a_test_keeps_its_identity_and_asks_for_a_regrade(client, people, assignment):
    Submission.objects.create(
        assignment=assignment,
        student=people["alice"],
        attempt=1,
        files={},
        status=Status.GRADED,
        score=3,
        raw_score=3,
    )
    test = assignment.tests.get(name="big")
    login(client, people["instructor"])
    url = reverse("test_edit", args=["cs1", "add", test.pk])
    page = client.get(url).content.decode()
    assert "add(10, 20)" in page and 'value="big"' in page
    response = client.post(
        url,
        {"name": "big", "points": "4", "time_limit": "5", "expr": "add(10, 21)", "expected": "31"},
        follow=True,
    )
    assert "1 graded submission used the previous tests" in response.content.decode()
    test.refresh_from_db()
    assert test.spec == {"expr": "add(10, 21)", "expected": "31"} and test.points == 4 and not test.visible


def test_deleting_a_test(client, people, assignment):
    test = assignment.tests.get(name="big")
    login(client, people["instructor"])
    assert client.get(reverse("test_delete", args=["cs1", "add", test.pk])).status_code == 405
    client.post(reverse("test_delete", args=["cs1", "add", test.pk]))
    assert not TestCase.objects.filter(pk=test.pk).exists()


def test_rubric_items_are_added_and_deleted(client, people, assignment):
    login(client, people["instructor"])
    url = reverse("rubric", args=["cs1", "add"])
    assert (
        client.post(url, {"name": "Readability", "description": "Names", "max_points": "2"}).status_code
        == 302
    )
    item = assignment.rubric_items.get()
    response = client.post(url, {"name": "Readability", "max_points": "-1"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "already has an item with that name" in page or "greater than or equal to 0" in page
    assert assignment.rubric_items.count() == 1
    client.post(url, {"delete": item.pk})
    assert not assignment.rubric_items.exists()


@pytest.mark.parametrize("who", ["ta", "alice", "charlie"])
def test_only_instructors_author(client, people, assignment, who):
    login(client, people[who])
    test = assignment.tests.first()
    for url, method in [
        (reverse("assignment_create", args=["cs1"]), "get"),
        (reverse("assignment_create", args=["cs1"]), "post"),
        (reverse("assignment_edit", args=["cs1", "add"]), "get"),
        (reverse("assignment_edit", args=["cs1", "add"]), "post"),
        (reverse("test_create", args=["cs1", "add", "expr"]), "get"),
        (reverse("test_edit", args=["cs1", "add", test.pk]), "post"),
        (reverse("test_delete", args=["cs1", "add", test.pk]), "post"),
        (reverse("rubric", args=["cs1", "add"]), "post"),
    ]:
        assert getattr(client, method)(url, {"name": "x"}).status_code == 404, url
    assert assignment.tests.count() == 3 and not assignment.rubric_items.exists()


def test_unknown_kinds_and_other_courses_tests_are_404(client, people, assignment, course):
    other = Assignment.objects.create(course=course, slug="other", title="Other")
    test = assignment.tests.first()
    login(client, people["instructor"])
    assert client.get(reverse("test_create", args=["cs1", "add", "java"])).status_code == 404
    assert client.get(reverse("test_edit", args=["cs1", other.slug, test.pk])).status_code == 404
    assert client.get(reverse("assignment_edit", args=["nope", "add"])).status_code == 404


def test_an_unknown_time_zone_cookie_falls_back_to_the_server_zone(client, people, assignment):
    login(client, people["instructor"])
    client.cookies["tz"] = "Mars/Olympus_Mons"
    response = client.get(reverse("assignment_edit", args=["cs1", "add"]))
    assert response.status_code == 200 and "Your local time (UTC)" in response.content.decode()
    client.cookies["tz"] = "America/New_York"
    page = client.get(reverse("assignment_edit", args=["cs1", "add"])).content.decode()
    assert "Your local time (America/New_York)" in page


def test_the_edit_page_lists_many_tests_without_n_plus_one(
    client, people, assignment, django_assert_max_num_queries
):
    for n in range(40):
        TestCase.objects.create(
            assignment=assignment, name=f"t{n}", kind="expr", spec={"expr": "1", "expected": "1"}
        )
    login(client, people["instructor"])
    with django_assert_max_num_queries(12):
        html = client.get(reverse("assignment_edit", args=["cs1", "add"])).content.decode()
    assert html.count("/tests/") >= 43 and 'data-editor="python"' in html and "build/editor.js" in html


def test_people_allowed_to_add_courses_create_one_and_become_its_instructor(client, people, course):
    from django.contrib.auth.models import Permission

    from courses.models import Course, Membership

    url = reverse("course_create")
    login(client, people["charlie"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"code": "cs2", "title": "CS 2"}).status_code == 403
    people["charlie"].user_permissions.add(Permission.objects.get(codename="add_course"))
    assert "New course" in client.get(reverse("dashboard")).content.decode()
    for bad, message in [
        ({"code": "cs1", "title": "Again"}, "already exists"),
        ({"code": "-x", "title": "X"}, "Start with"),
    ]:
        response = client.post(url, bad)
        assert response.status_code == 400 and message in response.content.decode()
    assert Course.objects.count() == 1
    response = client.post(url, {"code": "cs2", "title": "CS 2", "description": "Second course"})
    assert response.status_code == 302
    assert Membership.objects.get(user=people["charlie"], course__code="cs2").role == "instructor"


def test_an_instructor_edits_the_course_but_not_its_code(client, people, course):
    url = reverse("course_edit", args=["cs1"])
    login(client, people["ta"])
    assert client.get(url).status_code == 404
    login(client, people["instructor"])
    assert client.post(url, {"code": "other", "title": ""}).status_code == 400
    client.post(url, {"code": "other", "title": "CS 1, autumn"})
    course.refresh_from_db()
    assert (course.code, course.title) == ("cs1", "CS 1, autumn")


def test_every_setting_of_the_assignment_form_is_on_the_page(client, people, assignment):
    # The template lays the fields out by hand: a field it forgets could never be changed.
    login(client, people["instructor"])
    for url in (reverse("assignment_create", args=["cs1"]), reverse("assignment_edit", args=["cs1", "add"])):
        page = client.get(url).content.decode()
        missing = [name for name in AssignmentForm.base_fields if f'name="{name}"' not in page]
        assert not missing, f"{url} does not show {missing}"
    assert "Checking answers" in page and "Python&#x27;s own ==" in page


def test_every_setting_of_an_assignment_can_be_authored_on_the_site_and_through_the_api():
    # A model field that is in neither list would be a setting nobody can change; one on a
    # single surface would make the site and the API disagree about what an assignment is.
    not_authored = {"course", "language", "published", "archived_at", "created_at", "updated_at"}
    model_fields = {f.name for f in Assignment._meta.get_fields() if f.concrete and not f.auto_created}
    authored = set(AUTHORED_FIELDS) | set(FILE_FIELDS)
    assert model_fields - not_authored == authored
    # The form shows the files as one code box each; publishing and archiving are buttons.
    assert set(AssignmentForm.base_fields) == set(AUTHORED_FIELDS) | {"starter_code", "reference_code"}
    # The API takes the whole assignment with its tests and whether it is published...
    assert set(AssignmentWriteSerializer().fields) == authored | {"published", "tests"}
    # ...and reads back to its authors everything it takes.
    assert set(AssignmentWriteSerializer().fields) <= set(AssignmentAuthorSerializer().fields)


# -- the slug, made from the title when left empty --------------------------------------------
def test_an_empty_slug_is_made_from_the_title_and_kept_unique(client, people, course):
    login(client, people["instructor"])
    url = reverse("assignment_create", args=["cs1"])
    for expected in ("binary-search-deja-vu", "binary-search-deja-vu-2", "binary-search-deja-vu-3"):
        response = client.post(url, {**SETTINGS, "title": "Binary Search: Déjà vu!", "slug": ""})
        assert response.status_code == 302
        assert response["Location"] == reverse("assignment_edit", args=["cs1", expected])
    assert course.assignments.count() == 3


def test_a_slug_made_from_a_long_title_fits_the_field(course):
    Assignment.objects.create(course=course, slug="x" * 64, title="long")
    assert free_slug(course, "x" * 100) == "x" * 62 + "-2"
    assert free_slug(course, "Add") == "add" and free_slug(course, "!!!") == ""
    mine = Assignment.objects.create(course=course, slug="add", title="Add")
    assert free_slug(course, "Add") == "add-2" and free_slug(course, "Add", exclude_pk=mine.pk) == "add"


def test_a_title_without_letters_asks_for_a_slug_and_keeps_the_input(client, people, course):
    login(client, people["instructor"])
    response = client.post(
        reverse("assignment_create", args=["cs1"]), {**SETTINGS, "title": "???", "slug": ""}
    )
    page = response.content.decode()
    assert response.status_code == 400 and "the title has no letters or digits" in page
    assert 'value="???"' in page and not Assignment.objects.exists()


def test_a_taken_slug_says_which_one_is_free(client, people, assignment):
    login(client, people["instructor"])
    response = client.post(reverse("assignment_create", args=["cs1"]), {**SETTINGS, "slug": "add"})
    assert response.status_code == 400 and "“add-2” is free" in response.content.decode()


def test_only_the_new_assignment_form_proposes_the_slug(client, people, assignment):
    # static/js/authoring.js (tested in the browser): an existing assignment's URL never follows its title.
    login(client, people["instructor"])
    page = client.get(reverse("assignment_create", args=["cs1"])).content.decode()
    assert "data-propose-slug" in page and "js/authoring.js" in page
    assert (
        "data-propose-slug"
        not in client.get(reverse("assignment_edit", args=["cs1", "add"])).content.decode()
    )


def test_a_setting_left_out_of_the_post_keeps_its_value(client, people, assignment):
    Assignment.objects.filter(pk=assignment.pk).update(hint_candidates=3)
    login(client, people["instructor"])
    response = client.post(reverse("assignment_edit", args=["cs1", "add"]), {**SETTINGS, "slug": "add"})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.hint_candidates == 3
    response = client.post(
        reverse("assignment_edit", args=["cs1", "add"]), {**SETTINGS, "slug": "add", "hint_candidates": "9"}
    )
    assert response.status_code == 400 and "less than or equal to 8" in response.content.decode()


# -- the statement's preview --------------------------------------------------------------------
PREVIEW = reverse("statement_preview", args=["cs1"])


def test_the_preview_renders_the_statement_as_the_assignment_page_does(client, people, assignment):
    statement = "Write `add(a, b)`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script>[x](javascript:alert(1))"
    login(client, people["instructor"])
    response = client.post(PREVIEW, {"statement": statement})
    assert response.status_code == 200 and response.content.decode() == render_markdown(statement)
    assert "<script" not in response.content.decode() and "javascript:" not in response.content.decode()
    Assignment.objects.filter(pk=assignment.pk).update(statement=statement)
    page = client.get(reverse("assignment", args=["cs1", "add"])).content.decode()
    assert response.content.decode() in page  # exactly what students see


def test_the_preview_of_an_empty_statement_says_so(client, people, course):
    login(client, people["instructor"])
    assert "The statement is empty." in client.post(PREVIEW, {"statement": "  "}).content.decode()


def test_the_preview_is_a_post_with_a_csrf_token(people, course):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["instructor"])
    assert strict.get(PREVIEW).status_code == 405
    assert strict.post(PREVIEW, {"statement": "x"}).status_code == 403  # no CSRF token


@pytest.mark.parametrize("who", ["ta", "alice", "charlie"])
def test_only_authors_preview(client, people, course, who):
    login(client, people[who])
    assert client.post(PREVIEW, {"statement": "x"}).status_code == 404


def test_the_form_offers_the_preview(client, people, assignment):
    login(client, people["instructor"])
    for url in (reverse("assignment_create", args=["cs1"]), reverse("assignment_edit", args=["cs1", "add"])):
        page = client.get(url).content.decode()
        assert f'data-preview-url="{PREVIEW}"' in page and 'aria-live="polite"' in page
