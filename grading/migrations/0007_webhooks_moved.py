"""Webhook and WebhookDelivery now belong to the webhooks app (see its 0001): state only."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("grader", "0006_submission_rubric_points"),
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="WebhookDelivery"),
                migrations.DeleteModel(name="Webhook"),
            ]
        )
    ]
