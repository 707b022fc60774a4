from django.contrib import admin
from django.db import models

from webhooks.models import Webhook, WebhookDelivery


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    can_delete = False
    fields = ["event", "status", "attempts", "response_code", "last_error", "created_at", "delivered_at"]
    readonly_fields = fields
    ordering = ["-created_at"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    list_display = ["url", "course", "active", "created_at"]
    list_filter = ["active", "course"]
    inlines = [WebhookDeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log."""

    list_display = ["webhook", "event", "status", "attempts", "response_code", "created_at", "delivered_at"]
    list_filter = ["status", "event"]
    readonly_fields = [
        "webhook",
        "submission",
        "event",
        "payload",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "created_at",
        "delivered_at",
    ]
    list_select_related = ["webhook__course"]
