"""Courses, memberships (roles) and assignments with their tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.text import slugify
from pydantic import TypeAdapter
from pydantic import ValidationError as SchemaError

import sandbox


class Course(models.Model):
    code = models.SlugField(max_length=64, unique=True, help_text="Short id used in URLs, e.g. cs101-2026")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Archived courses are read-only (no submissions, no changes) and left off dashboards; "
        "their grades stay readable",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    def clean(self) -> None:
        if self.code.startswith("-"):  # "-" starts the site's own pages (/courses/-/new/)
            raise ValidationError({"code": "Start with a letter or a digit."})


class Role(models.TextChoices):
    STUDENT = "student", "Student"
    TA = "ta", "Teaching assistant"
    INSTRUCTOR = "instructor", "Instructor"


STAFF_ROLES = (Role.TA, Role.INSTRUCTOR)


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.STUDENT)
    external_id = models.CharField(max_length=200, blank=True, help_text="The LMS's id for this person")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "course"], name="one_membership_per_course"),
            models.UniqueConstraint(
                fields=["course", "external_id"],
                condition=~Q(external_id=""),
                name="external_id_unique_in_course",
            ),
        ]
        ordering = ["course", "role", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.course.code} ({self.role})"

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class CountedSubmission(models.TextChoices):
    LAST = "last", "The last graded attempt"
    BEST = "best", "The best attempt"


class Language(models.TextChoices):
    PYTHON = "python", "Python 3"


class LatePolicy(models.TextChoices):
    REJECT = "reject", "Reject after the deadline"
    ACCEPT = "accept", "Accept late, no penalty"
    PENALTY = "penalty", "Accept late with a penalty"


class PenaltyUnit(models.TextChoices):
    HOUR = "hour", "per started hour"
    DAY = "day", "per started day"


# New assignments' limits come from the SANDBOX_DEFAULT_* settings (named functions, so
# migrations can refer to them).
class SetupScope(models.TextChoices):
    TEST = (
        "test",
        "Each expression test: runs before the expression; the student's code does not see its names",
    )
    MODULE = (
        "module",
        "The student's module: runs first, in the module's own namespace (its names are globals)",
    )


class Equality(models.TextChoices):
    STRICT = "strict", "Strict: a bool is not a number (False ≠ 0), a list is not a tuple"
    PYTHON = "python", "Python's own ==: False == 0, True == 1.0, {1} == frozenset({1})"


def default_memory_mb() -> int:
    return settings.SANDBOX_DEFAULT_MEMORY_MB


def default_cpus() -> Decimal:
    return Decimal(str(settings.SANDBOX_DEFAULT_CPUS)).quantize(Decimal("0.01"))


def default_pids() -> int:
    return settings.SANDBOX_DEFAULT_PIDS


def default_wall_seconds() -> int:
    return int(settings.SANDBOX_DEFAULT_WALL_SECONDS)


def default_test_seconds() -> float:
    return settings.SANDBOX_DEFAULT_TEST_SECONDS


def _nonneg(name: str) -> Q:
    return Q(**{f"{name}__gte": 0})


class Assignment(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="assignments")
    slug = models.SlugField(max_length=64)
    title = models.CharField(max_length=200)
    statement = models.TextField(blank=True, help_text="Markdown")
    language = models.CharField(max_length=16, choices=Language.choices, default=Language.PYTHON)
    module_name = models.CharField(
        max_length=64, default="solution", help_text="Students submit <module_name>.py; tests import it."
    )
    starter_files = models.JSONField(default=dict, blank=True, help_text='{"solution.py": "..."}')
    reference_files = models.JSONField(default=dict, blank=True, help_text="The reference solution's files")
    setup_code = models.TextField(
        blank=True, help_text="Python run before the tests (fixtures, imports, data)"
    )
    setup_scope = models.CharField(
        max_length=8,
        choices=SetupScope.choices,
        default=SetupScope.TEST,
        help_text="Where the setup code runs, and so whether the student's functions see its names",
    )
    equality = models.CharField(
        max_length=8,
        choices=Equality.choices,
        default=Equality.STRICT,
        help_text="How expression tests compare values (a test may choose otherwise). Either way an "
        "expected integer must match exactly; a tolerance applies only to expected floats.",
    )

    deadline = models.DateTimeField(null=True, blank=True)
    hard_deadline = models.DateTimeField(
        null=True, blank=True, help_text="No submission accepted after this, whatever the late policy"
    )
    late_policy = models.CharField(max_length=16, choices=LatePolicy.choices, default=LatePolicy.REJECT)
    late_penalty_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"), validators=[MinValueValidator(0)]
    )
    late_penalty_unit = models.CharField(max_length=8, choices=PenaltyUnit.choices, default=PenaltyUnit.DAY)
    late_penalty_cap_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("100"), validators=[MinValueValidator(0)]
    )
    attempt_limit = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: unlimited")
    count_broken_attempts = models.BooleanField(
        default=False,
        help_text="A submission Python cannot read (a syntax error: no test can run) counts as an attempt. "
        "Off by default: such a submission reveals nothing about the tests.",
    )
    min_seconds_between_attempts = models.PositiveIntegerField(
        default=0, help_text="A student must wait this long between two submissions (0: no wait)"
    )
    counted_submission = models.CharField(
        max_length=8,
        choices=CountedSubmission.choices,
        default=CountedSubmission.LAST,
        help_text="Which attempt the gradebook counts",
    )

    memory_mb = models.PositiveIntegerField(default=default_memory_mb, validators=[MinValueValidator(32)])
    cpus = models.DecimalField(max_digits=4, decimal_places=2, default=default_cpus)
    pids_limit = models.PositiveIntegerField(default=default_pids, validators=[MinValueValidator(16)])
    wall_seconds = models.PositiveIntegerField(
        default=default_wall_seconds, validators=[MinValueValidator(1)]
    )

    llm_hints = models.BooleanField(default=True, help_text="Ask the model for debugging hints")
    validate_hints = models.BooleanField(
        default=False,
        help_text="Show a model hint only if the model, repairing the code with just that hint, passes more tests",
    )
    hint_candidates = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(8)],
        help_text="Best-of-n: the model proposes this many hints in one request and the best is shown "
        "(with checked hints, the one whose repair passes the most tests). 1 to 8.",
    )
    hint_critic = models.BooleanField(
        default=False, help_text="A critic model ranks the proposed hints (when there are several)"
    )
    rubric_auto_approve = models.BooleanField(
        default=False, help_text="Count the model's rubric scores without an instructor's approval"
    )
    show_hidden_details = models.BooleanField(
        default=False, help_text="Show students the input/expected/actual of hidden tests"
    )
    published = models.BooleanField(default=False)
    archived_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Archived assignments take no submissions and are hidden from students; "
        "their submissions and grades stay",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["course", "deadline", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["course", "slug"], name="assignment_slug_unique_in_course"),
            models.CheckConstraint(
                condition=_nonneg("late_penalty_percent"), name="late_penalty_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(late_penalty_cap_percent__gte=0) & Q(late_penalty_cap_percent__lte=100),
                name="late_penalty_cap_in_range",
            ),
            models.CheckConstraint(condition=Q(memory_mb__gte=32), name="memory_at_least_32mb"),
            models.CheckConstraint(condition=Q(cpus__gt=0), name="cpus_positive"),
            models.CheckConstraint(condition=Q(pids_limit__gte=16), name="pids_at_least_16"),
            models.CheckConstraint(condition=Q(wall_seconds__gte=1), name="wall_seconds_positive"),
            models.CheckConstraint(
                condition=Q(attempt_limit__isnull=True) | Q(attempt_limit__gte=1),
                name="attempt_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.course.code}/{self.slug}"

    @property
    def main_file(self) -> str:
        return f"{self.module_name}.py"

    @property
    def starter_code(self) -> str:
        """The main file's starter text: what the editor opens with."""
        return self.starter_files.get(self.main_file, "")

    def clean(self) -> None:
        """The one set of rules for an assignment's settings, whoever saves it: the authoring
        form (Django runs this on is_valid), the REST API and the admin."""
        errors = {}  # every problem at once, so a form can show them all
        if not self.module_name.isidentifier():
            errors["module_name"] = "Must be a Python identifier, e.g. solution"
        errors.update(self._slug_errors())
        errors.update(self._saved_state_errors())
        if self.deadline and self.hard_deadline and self.hard_deadline < self.deadline:
            errors["hard_deadline"] = "The hard deadline cannot be before the deadline."
        if self.setup_code and (problem := python_problem(self.setup_code, "The setup snippet")):
            errors["setup_code"] = problem
        if self.late_penalty_cap_percent is not None and self.late_penalty_cap_percent > 100:
            errors["late_penalty_cap_percent"] = "At most 100%."
        for field in ("starter_files", "reference_files"):
            value = getattr(self, field)
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                errors[field] = 'Expected an object of file name to text: {"solution.py": "..."}'
        if "reference_files" not in errors:
            # Starter code may be unfinished on purpose; the reference solution must run.
            problems = [
                python_problem(text, name)
                for name, text in self.reference_files.items()
                if name.endswith(".py")
            ]
            if any(problems):
                errors["reference_files"] = [p for p in problems if p]
        if errors:
            raise ValidationError(errors)

    def _slug_errors(self) -> dict:
        if self.slug.startswith("-"):  # "-" starts the course's own pages (/courses/<code>/-/...)
            return {"slug": "Start with a letter or a digit."}
        others = Assignment.objects.filter(course_id=self.course_id, slug=self.slug).exclude(pk=self.pk)
        if self.slug and self.course_id and others.exists():
            free = free_slug(self.course, self.slug, exclude_pk=self.pk)
            return {"slug": f"Another assignment of this course already uses this slug; “{free}” is free."}
        return {}

    def _saved_state_errors(self) -> dict:
        """Archived assignments are read-only; once students have submitted, their attempts,
        URLs and the gradebook refer to the slug and module name, which are then fixed."""
        saved = Assignment.objects.filter(pk=self.pk).values("slug", "module_name", "archived_at").first()
        if saved is None:
            return {}
        if saved["archived_at"] is not None and self.archived_at is not None:
            return {NON_FIELD_ERRORS: "This assignment is archived: restore it before changing it."}
        moved = [f for f in ("slug", "module_name") if getattr(self, f) != saved[f]]
        if moved and self.submissions.exists():
            return {f: "Fixed: students have already submitted." for f in moved}
        return {}

    def sandbox_limits(self) -> sandbox.Limits:
        return sandbox.Limits(
            cpus=float(self.cpus),
            memory_mb=self.memory_mb,
            pids=self.pids_limit,
            wall_seconds=self.wall_seconds,
        )

    @property
    def max_points(self) -> Decimal:
        return sum((t.points for t in self.tests.all()), Decimal("0"))


def python_problem(text: str, name: str) -> str:
    """Why ``text`` is not Python that runs (its line and Python's message), or ""."""
    try:
        compile(text, name, "exec")
    except SyntaxError as exc:
        return f"{name} is not valid Python (line {exc.lineno}): {exc.msg}"
    except ValueError as exc:  # a NUL character
        return f"{name} is not valid Python: {exc}"
    return ""


def free_slug(course: Course, title: str, exclude_pk: int | None = None) -> str:
    """A slug made from ``title`` (django's slugify) that no other assignment of the course
    uses: the slugified title, else it with -2, -3... appended. Empty when the title has no
    letter or digit to make one from."""
    max_length = Assignment._meta.get_field("slug").max_length or 64
    base = slugify(title)[:max_length].strip("-_")
    if not base:
        return ""
    taken = set(
        Assignment.objects.filter(course=course).exclude(pk=exclude_pk).values_list("slug", flat=True)
    )
    slug, n = base, 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = base[: max_length - len(suffix)].rstrip("-_") + suffix
    return slug


class TestKind(models.TextChoices):
    IO = "io", "Standard input / output"
    EXPR = "expr", "Expression"
    PYTEST = "pytest", "pytest file"


_SPEC = TypeAdapter(sandbox.schema.Spec)


class TestCase(models.Model):
    """One test. ``spec`` is the sandbox's spec for its kind (see sandbox/schema.py)."""

    __test__ = False  # not a pytest test class

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="tests")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=TestKind.choices)
    visible = models.BooleanField(
        default=True, help_text="Hidden tests show students only name and pass/fail"
    )
    points = models.DecimalField(
        max_digits=7, decimal_places=2, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    time_limit = models.FloatField(default=default_test_seconds, validators=[MinValueValidator(0.1)])
    spec = models.JSONField(
        help_text="Kind-specific: io {stdin, stdout, compare}, expr {expr, expected}, pytest {source}"
    )
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["assignment", "order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=0), name="test_points_nonnegative"),
            models.CheckConstraint(condition=Q(time_limit__gt=0), name="test_time_limit_positive"),
            models.UniqueConstraint(fields=["assignment", "name"], name="test_name_unique_in_assignment"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment}: {self.name}"

    def refuse_if_archived(self) -> None:
        if self.assignment_id and self.assignment.archived_at is not None:
            raise ValidationError("The assignment is archived: restore it before changing its tests.")

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        """Deleting a test changes every grade too: refused while the assignment is archived."""
        self.refuse_if_archived()
        return super().delete(*args, **kwargs)

    def clean(self) -> None:
        self.refuse_if_archived()
        try:
            self.validated_spec()
        except SchemaError as exc:
            messages = [
                f"{'.'.join(str(p) for p in e['loc'][1:]) or 'spec'}: {e['msg']}" for e in exc.errors()
            ]
            raise ValidationError({"spec": messages}) from None

    def validated_spec(self):
        spec = dict(self.spec) if isinstance(self.spec, dict) else self.spec
        if isinstance(spec, dict):
            spec["kind"] = self.kind
        return _SPEC.validate_python(spec)

    @property
    def input_text(self) -> str:
        """What the test feeds the student's code, for display: the expression or the stdin."""
        spec = self.spec if isinstance(self.spec, dict) else {}
        return {"expr": spec.get("expr", ""), "io": spec.get("stdin", "")}.get(self.kind, "")

    @property
    def sandbox_id(self) -> str:
        """The test's id in sandbox jobs and their reports."""
        return f"t{self.pk}"

    def to_sandbox(self) -> sandbox.Test:
        return sandbox.Test(
            id=self.sandbox_id,
            name=self.name,
            spec=self.validated_spec(),
            points=float(self.points),
            time_limit=self.time_limit,
            visible=self.visible,
        )


class Extension(models.Model):
    """A student's own deadlines for one assignment (they replace the assignment's)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="extensions")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="extensions")
    deadline = models.DateTimeField()
    hard_deadline = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "student"], name="one_extension_per_student"),
            models.CheckConstraint(
                condition=Q(hard_deadline__isnull=True) | Q(hard_deadline__gte=models.F("deadline")),
                name="extension_hard_deadline_after_deadline",
            ),
        ]

    def __str__(self) -> str:
        return f"extension for {self.student} on {self.assignment}"


class RubricItem(models.Model):
    """A quality the model grades (readability, use of functions...), with its maximum points."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="rubric_items")
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    max_points = models.DecimalField(max_digits=7, decimal_places=2, validators=[MinValueValidator(0)])
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["assignment", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["assignment", "name"], name="rubric_item_unique_in_assignment"),
            models.CheckConstraint(condition=Q(max_points__gte=0), name="rubric_max_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment}: {self.name}"

    def clean(self) -> None:
        if self.assignment_id and self.assignment.archived_at is not None:
            raise ValidationError("The assignment is archived: restore it before changing its rubric.")

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        self.clean()  # an archived assignment's rubric is read-only, as its tests are
        return super().delete(*args, **kwargs)
