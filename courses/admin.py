from django.contrib import admin

from courses.models import Assignment, Course, Extension, Membership, TestCase


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "created_at"]
    search_fields = ["code", "title"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "course", "role", "created_at"]
    list_filter = ["role", "course"]
    search_fields = ["user__username", "user__email", "course__code"]
    autocomplete_fields = ["user", "course"]


class TestCaseInline(admin.StackedInline):
    model = TestCase
    extra = 0


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["title", "course", "slug", "deadline", "published"]
    list_filter = ["published", "course", "language"]
    search_fields = ["title", "slug", "course__code"]
    prepopulated_fields = {"slug": ["title"]}
    inlines = [TestCaseInline]
    fieldsets = [
        (None, {"fields": ["course", "title", "slug", "published", "statement", "language", "module_name"]}),
        ("Code", {"fields": ["starter_files", "reference_files", "setup_code"]}),
        (
            "Deadlines and attempts",
            {
                "fields": [
                    "deadline",
                    "hard_deadline",
                    "late_policy",
                    "late_penalty_percent",
                    "late_penalty_unit",
                    "late_penalty_cap_percent",
                    "attempt_limit",
                    "min_seconds_between_attempts",
                    "counted_submission",
                ]
            },
        ),
        ("Limits", {"fields": ["memory_mb", "cpus", "pids_limit", "wall_seconds"]}),
        ("Feedback", {"fields": ["llm_hints", "show_hidden_details"]}),
    ]


@admin.register(TestCase)
class TestCaseAdmin(admin.ModelAdmin):
    list_display = ["name", "assignment", "kind", "visible", "points", "time_limit"]
    list_filter = ["kind", "visible", "assignment__course"]
    search_fields = ["name", "assignment__slug"]


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    list_display = ["student", "assignment", "deadline", "hard_deadline", "created_at"]
    list_filter = ["assignment__course"]
    autocomplete_fields = ["student"]
