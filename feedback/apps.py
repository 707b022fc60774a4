from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "feedback"

    def ready(self):
        # Subscribes to the grading app's announcements (see grading.signals), and checks the
        # model server when a feedback worker starts.
        from feedback import receivers, worker  # noqa: F401
