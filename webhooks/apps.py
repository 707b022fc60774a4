from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self):
        # Subscribes to the grading app's announcements (see grading.signals).
        from webhooks import receivers  # noqa: F401
