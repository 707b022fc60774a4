from django.contrib import admin, messages
from django.shortcuts import redirect

from courses.models import Assignment, Course, Extension, Membership, TestCase
from courses.roster import RosterRejected, remove_member


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]
    can_delete = False  # removing someone goes through courses.roster (MembershipAdmin below)


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

    # Removals go through the roster service, like the people page's: the course keeps an
    # instructor and the person's submissions stay. One at a time (no bulk delete action), so a
    # refusal is reported as such.
    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        try:
            remove_member(obj.course, obj.user)
        except RosterRejected as exc:
            request.roster_refused = True
            messages.error(request, f"{obj.user} was not removed: {' '.join(exc.messages)}")

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "roster_refused", False):
            return redirect("admin:courses_membership_change", obj_id)
        return super().response_delete(request, obj_display, obj_id)


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
