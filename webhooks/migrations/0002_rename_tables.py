"""The moved tables take this app's names (webhooks_webhook, webhooks_webhookdelivery)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("grader", "0007_webhooks_moved"),
    ]

    operations = [
        migrations.AlterModelTable(name="webhook", table=None),
        migrations.AlterModelTable(name="webhookdelivery", table=None),
    ]
