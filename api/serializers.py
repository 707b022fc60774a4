from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from courses.assignments import AUTHORED_FIELDS, FILE_FIELDS
from courses.models import (
    Assignment,
    CountedSubmission,
    Course,
    Equality,
    Membership,
    PenaltyUnit,
    Role,
    SetupScope,
    TestCase,
    default_cpus,
    default_memory_mb,
    default_pids,
    default_wall_seconds,
)
from grading.disclosure import PRODUCED_BY_THE_CODE, shows_details
from grading.models import Submission, TestResult


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (a typo must not be silently ignored)."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """A string and nothing else: DRF's CharField would store the number 5 as "5"."""

    default_error_messages = {"not_text": "Must be a string (the file's text), not {kind}."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text", kind=type(data).__name__)
        return super().to_internal_value(data)


class CourseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Course
        fields = ["code", "title", "description", "archived_at"]
        read_only_fields = ["archived_at"]


class CourseCreateSerializer(StrictSerializer):
    code = serializers.SlugField(max_length=64, help_text="Short id used in URLs, e.g. cs101-2026")
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class AssignmentSerializer(serializers.ModelSerializer):
    course = serializers.CharField(source="course.code", read_only=True)
    max_points = serializers.DecimalField(max_digits=9, decimal_places=2, read_only=True)
    main_file = serializers.CharField(read_only=True)

    class Meta:
        model = Assignment
        fields = [
            "course",
            "slug",
            "title",
            "statement",
            "language",
            "main_file",
            "deadline",
            "hard_deadline",
            "late_policy",
            "late_penalty_percent",
            "late_penalty_unit",
            "late_penalty_cap_percent",
            "attempt_limit",
            "min_seconds_between_attempts",
            "counted_submission",
            "setup_scope",
            "equality",
            "show_hidden_details",
            "published",
            "archived_at",
            "max_points",
        ]


class TestCaseOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = TestCase
        fields = ["name", "kind", "visible", "points", "time_limit", "spec"]


class AssignmentAuthorSerializer(AssignmentSerializer):
    """What authors (TAs, instructors, tokens with the manage scope) read back: everything the
    write serializer takes, hidden tests included. Never for students or read-only tokens."""

    tests = TestCaseOutSerializer(many=True, read_only=True)

    class Meta(AssignmentSerializer.Meta):
        fields = [
            *AssignmentSerializer.Meta.fields,
            *(f for f in (*AUTHORED_FIELDS, *FILE_FIELDS) if f not in AssignmentSerializer.Meta.fields),
            "tests",
        ]


class RosterEntrySerializer(StrictSerializer):
    email = serializers.EmailField()
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    username = serializers.RegexField(r"^[\w.@+-]{1,150}$", required=False)
    first_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices, default=Role.STUDENT)


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")

    class Meta:
        model = Membership
        fields = ["username", "email", "first_name", "last_name", "external_id", "role"]


class RosterSerializer(StrictSerializer):
    members = RosterEntrySerializer(many=True, allow_empty=False, max_length=5000)


class SubmissionCreateSerializer(StrictSerializer):
    student = serializers.CharField(
        max_length=254, required=False, help_text="The student's external id or e-mail (token requests)"
    )
    files = serializers.DictField(
        child=TextField(allow_blank=True, trim_whitespace=False),
        allow_empty=False,
        help_text='{"solution.py": "..."}: every content is a string',
    )


class ResultSerializer(serializers.ModelSerializer):
    class Meta:
        model = TestResult
        fields = [
            "name",
            "visible",
            "outcome",
            "points",
            "points_earned",
            "duration",
            "message",
            "test_input",
            "expected",
            "actual",
            "stdout",
            "stderr",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("details_for", {}).get(instance.pk, True):
            data = {k: (None if k in PRODUCED_BY_THE_CODE else v) for k, v in data.items()}
        return data


class FeedbackSerializer(serializers.Serializer):
    hint = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    concept = serializers.CharField()
    source = serializers.CharField()


class SubmissionSerializer(serializers.ModelSerializer):
    course = serializers.CharField(source="assignment.course.code")
    assignment = serializers.CharField(source="assignment.slug")
    student = serializers.CharField(source="student.username")
    final_score = serializers.DecimalField(
        max_digits=9,
        decimal_places=2,
        allow_null=True,
        help_text="What the attempt is worth (override, else score after the late penalty); null until "
        "graded, and for code that does not run where the assignment does not count such code",
    )
    results = serializers.SerializerMethodField()
    feedback = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = [
            "id",
            "course",
            "assignment",
            "student",
            "attempt",
            "status",
            "score",
            "max_score",
            "final_score",
            "is_late",
            "late_penalty_percent",
            "submitted_at",
            "graded_at",
            "does_not_run",
            "findings",
            "results",
            "feedback",
        ]
        # What reading the code found depends on no test: everyone who sees the submission sees it.
        read_only_fields = ["does_not_run", "findings"]

    def get_results(self, obj) -> list[dict]:
        results = list(obj.results.all())
        staff = self.context.get("detailed", False)
        shown = obj.assignment.show_hidden_details
        context = {"details_for": {r.pk: shows_details(r.visible, shown, staff) for r in results}}
        return ResultSerializer(results, many=True, context=context).data

    def get_feedback(self, obj) -> dict | None:
        feedback = getattr(obj, "feedback", None)
        return FeedbackSerializer(feedback).data if feedback else None


class GradeSerializer(serializers.Serializer):
    student = serializers.CharField()
    email = serializers.EmailField()
    external_id = serializers.CharField()
    assignment = serializers.CharField()
    submission = serializers.IntegerField()
    score = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    max_score = serializers.DecimalField(max_digits=9, decimal_places=2, allow_null=True)
    is_late = serializers.BooleanField()
    overridden = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class TestCaseInSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=["io", "expr", "pytest"])
    visible = serializers.BooleanField(default=True)
    points = serializers.DecimalField(max_digits=7, decimal_places=2, min_value=0, default=1)
    time_limit = serializers.FloatField(min_value=0.1, max_value=600, default=10.0)
    spec = serializers.DictField(
        help_text="io {stdin, stdout, compare, rel_tol, abs_tol, int_tolerance}, "
        "expr {expr, expected, rel_tol, abs_tol, int_tolerance, equality}, pytest {source}. "
        "An expected integer is compared exactly; a tolerance applies only to expected floats "
        "unless int_tolerance is true."
    )


class AssignmentWriteSerializer(StrictSerializer):
    """The whole assignment (PUT replaces it: a field left out takes its default). Validated
    again by the model's own rules (Assignment.clean), as the authoring form is."""

    slug = serializers.SlugField(
        max_length=64, required=False, allow_blank=True, help_text="Empty on creation: made from the title"
    )
    title = serializers.CharField(max_length=200)
    statement = serializers.CharField(required=False, allow_blank=True, default="")
    module_name = serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=64, default="solution")
    setup_code = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    setup_scope = serializers.ChoiceField(
        choices=SetupScope.choices,
        default=SetupScope.TEST,
        help_text="test: the setup runs before each expression, unseen by the student's code; "
        "module: it runs first in the student's module, its names are the module's globals",
    )
    equality = serializers.ChoiceField(
        choices=Equality.choices,
        default=Equality.STRICT,
        help_text="strict: a bool is not a number, a list is not a tuple; python: Python's own ==",
    )
    starter_files = serializers.DictField(
        child=TextField(allow_blank=True, trim_whitespace=False), required=False, default=dict
    )
    reference_files = serializers.DictField(
        child=TextField(allow_blank=True, trim_whitespace=False), required=False, default=dict
    )
    deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    hard_deadline = serializers.DateTimeField(required=False, allow_null=True, default=None)
    late_policy = serializers.ChoiceField(choices=["reject", "accept", "penalty"], default="reject")
    late_penalty_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default=0
    )
    late_penalty_unit = serializers.ChoiceField(choices=PenaltyUnit.choices, default=PenaltyUnit.DAY)
    late_penalty_cap_percent = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, default=100
    )
    attempt_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    min_seconds_between_attempts = serializers.IntegerField(
        min_value=0, default=0, help_text="The minimum wait between two attempts of a student (0: none)"
    )
    counted_submission = serializers.ChoiceField(
        choices=CountedSubmission.choices, default=CountedSubmission.LAST
    )
    count_broken_attempts = serializers.BooleanField(
        default=False, help_text="A submission Python cannot read counts as an attempt"
    )
    memory_mb = serializers.IntegerField(
        min_value=32, default=default_memory_mb, help_text="Memory limit (MB)"
    )
    cpus = serializers.DecimalField(
        max_digits=4, decimal_places=2, min_value=Decimal("0.01"), default=default_cpus
    )
    pids_limit = serializers.IntegerField(min_value=16, default=default_pids, help_text="Processes at once")
    wall_seconds = serializers.IntegerField(
        min_value=1, default=default_wall_seconds, help_text="Wall-clock limit for the whole submission (s)"
    )
    llm_hints = serializers.BooleanField(default=True)
    validate_hints = serializers.BooleanField(default=False)
    hint_candidates = serializers.IntegerField(min_value=1, max_value=8, default=1)
    hint_critic = serializers.BooleanField(default=False)
    rubric_auto_approve = serializers.BooleanField(default=False)
    show_hidden_details = serializers.BooleanField(
        default=False, help_text="Show students the input, expected and actual values of hidden tests"
    )
    published = serializers.BooleanField(default=False)
    tests = TestCaseInSerializer(
        many=True,
        max_length=500,
        help_text="Each test's time_limit is its time limit in seconds (the CPU-bound limit per test)",
    )


class WebhookSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.CharField(max_length=500)
    active = serializers.BooleanField(default=True)
    secret = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
