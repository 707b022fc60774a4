from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    # The label the app had when the project package and the grading app were one: existing
    # databases keep their tables (grader_submission...) and migration history.
    label = "grader"
    verbose_name = "Grading"

    def ready(self):
        # Celery signal handlers of the grading worker (janitor at start, pool at shutdown).
        # Its own measurements on its announcements (submit to graded).
        from grading import metrics, worker  # noqa: F401
