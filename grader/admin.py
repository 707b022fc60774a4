from django.contrib import admin

from grader.models import Submission, TestResult


class TestResultInline(admin.TabularInline):
    model = TestResult
    extra = 0
    can_delete = False
    fields = ["name", "visible", "outcome", "points_earned", "points", "duration", "message"]
    readonly_fields = fields


@admin.register(Submission)
class SubmissionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "assignment",
        "student",
        "attempt",
        "status",
        "score",
        "max_score",
        "is_late",
        "submitted_at",
    ]
    list_filter = ["status", "is_late", "assignment__course"]
    search_fields = ["student__username", "assignment__slug"]
    readonly_fields = ["submitted_at", "started_at", "graded_at", "sandbox_seconds", "infra_failures"]
    list_select_related = ["assignment__course", "student"]
    inlines = [TestResultInline]


@admin.register(TestResult)
class TestResultAdmin(admin.ModelAdmin):
    list_display = ["submission", "name", "outcome", "points_earned", "points", "duration"]
    list_filter = ["outcome", "visible"]
    list_select_related = ["submission__assignment__course", "submission__student"]
