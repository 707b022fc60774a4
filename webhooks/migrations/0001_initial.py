"""The webhook models move here from the grading app (label ``grader``), whose migration 0004
created their tables: state only here; 0002 renames the tables."""

import django.db.models.deletion
from django.db import migrations, models

import webhooks.models

state_operations = [
    migrations.CreateModel(
        name="Webhook",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("url", models.URLField(max_length=500)),
            (
                "secret",
                models.CharField(
                    default=webhooks.models._new_secret,
                    help_text="HMAC-SHA256 key shared with the receiver",
                    max_length=128,
                ),
            ),
            ("active", models.BooleanField(default=True)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            (
                "course",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="webhooks", to="courses.course"
                ),
            ),
        ],
        options={"db_table": "grader_webhook"},
    ),
    migrations.CreateModel(
        name="WebhookDelivery",
        fields=[
            ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
            ("event", models.CharField(max_length=64)),
            ("payload", models.JSONField()),
            (
                "status",
                models.CharField(
                    choices=[("pending", "Pending"), ("delivered", "Delivered"), ("failed", "Failed (gave up)")],
                    default="pending",
                    max_length=16,
                ),
            ),
            ("attempts", models.PositiveIntegerField(default=0)),
            ("response_code", models.PositiveIntegerField(blank=True, null=True)),
            ("last_error", models.TextField(blank=True)),
            ("created_at", models.DateTimeField(auto_now_add=True)),
            ("delivered_at", models.DateTimeField(blank=True, null=True)),
            (
                "submission",
                models.ForeignKey(
                    null=True,
                    on_delete=django.db.models.deletion.SET_NULL,
                    related_name="+",
                    to="grader.submission",
                ),
            ),
            (
                "webhook",
                models.ForeignKey(
                    on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="webhooks.webhook"
                ),
            ),
        ],
        options={"ordering": ["-created_at", "-id"], "db_table": "grader_webhookdelivery"},
    ),
]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("courses", "0007_setup_scope_and_equality"),
        ("grader", "0006_submission_rubric_points"),
    ]

    operations = [migrations.SeparateDatabaseAndState(state_operations=state_operations)]
