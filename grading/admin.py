from django.contrib import admin

from grading.models import ScoreOverride, Submission, SubmissionEvent, TestResult


class TestResultInline(admin.TabularInline):
    model = TestResult
    extra = 0
    can_delete = False
    fields = ["name", "visible", "outcome", "points_earned", "points", "duration", "message"]
    readonly_fields = fields


class SubmissionEventInline(admin.TabularInline):
    model = SubmissionEvent
    extra = 0
    can_delete = False
    fields = ["status", "at", "detail"]
    readonly_fields = fields


class ScoreOverrideInline(admin.TabularInline):
    model = ScoreOverride
    extra = 0
    can_delete = False
    fields = ["score", "previous_score", "reason", "by", "at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # overrides go through the service, which keeps the audit trail


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "assignment",
        "student",
        "attempt",
        "status",
        "score",
        "override_score",
        "max_score",
        "is_late",
        "submitted_at",
    ]
    list_filter = ["status", "is_late", "assignment__course"]
    search_fields = ["student__username", "assignment__slug"]
    readonly_fields = [
        "submitted_at",
        "started_at",
        "graded_at",
        "status_changed_at",
        "sandbox_seconds",
        "infra_failures",
        "worker",
        "override_score",
    ]
    list_select_related = ["assignment__course", "student"]
    inlines = [TestResultInline, SubmissionEventInline, ScoreOverrideInline]


@admin.register(TestResult)
class TestResultAdmin(admin.ModelAdmin):
    list_display = ["submission", "name", "outcome", "points_earned", "points", "duration"]
    list_filter = ["outcome", "visible"]
    list_select_related = ["submission__assignment__course", "submission__student"]


@admin.register(ScoreOverride)
class ScoreOverrideAdmin(admin.ModelAdmin):
    list_display = ["submission", "score", "previous_score", "by", "at"]
    readonly_fields = ["submission", "score", "previous_score", "reason", "by", "at"]
    list_select_related = ["submission__assignment", "by"]

    def has_add_permission(self, request):
        return False
