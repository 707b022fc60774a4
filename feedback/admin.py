from django.contrib import admin

from feedback.models import Feedback, FeedbackRequest


@admin.register(FeedbackRequest)
class FeedbackRequestAdmin(admin.ModelAdmin):
    list_display = ["submission", "status", "priority", "tries", "created_at", "updated_at"]
    list_filter = ["status", "priority"]
    list_select_related = ["submission__assignment", "submission__student"]


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ["submission", "source", "model", "line", "concept", "rating", "created_at"]
    list_filter = ["source", "rating"]
    list_select_related = ["submission__assignment", "submission__student"]
