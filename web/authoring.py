"""Saving the tests instructors author on the site.

Validation is the models' own (TestCase.clean checks the spec with the sandbox's schema), so the
site, the admin and the REST API accept the same things; errors come back per form field."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Max

from courses.models import Assignment, TestCase
from grading.models import Status
from web.authoring_forms import TestForm


@transaction.atomic
def do_save_test(assignment: Assignment, form: TestForm, test: TestCase | None = None) -> TestCase:
    """Create (test None) or update one test from a valid form. Raises ValidationError keyed by
    the form's field names (anything else under NON_FIELD_ERRORS); nothing is saved then."""
    data = form.cleaned_data
    if assignment.tests.filter(name=data["name"]).exclude(pk=test.pk if test else None).exists():
        raise ValidationError({"name": f"This assignment already has a test named “{data['name']}”."})
    if test is None:
        last = assignment.tests.aggregate(last=Max("order"))["last"]
        test = TestCase(assignment=assignment, kind=form.kind, order=0 if last is None else last + 1)
    test.name, test.visible = data["name"], data["visible"]
    test.points, test.time_limit = data["points"], data["time_limit"]
    test.spec = form.spec()
    try:
        test.full_clean()
    except ValidationError as exc:
        raise ValidationError(_by_form_field(exc, form)) from None
    test.save()
    return test


def _by_form_field(exc: ValidationError, form: TestForm) -> dict[str, list[str]]:
    """The spec's messages read "field: problem"; put each on the form field it names."""
    errors: dict[str, list[str]] = {}
    for key, messages in exc.message_dict.items():
        for message in messages:
            field, _, problem = message.partition(": ")
            if key == "spec" and field in form.fields and problem:
                errors.setdefault(field, []).append(problem.removeprefix("Value error, "))
            else:
                target = key if key in form.fields else NON_FIELD_ERRORS
                errors.setdefault(target, []).append(message)
    return errors


def graded_with_old_tests(assignment: Assignment) -> int:
    """How many graded submissions a test change leaves to be regraded."""
    return assignment.submissions.filter(status=Status.GRADED).count()
