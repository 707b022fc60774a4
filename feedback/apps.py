from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self):
        # Subscribes to the grading app's announcements (see grading.signals).
        from feedback import receivers  # noqa: F401
