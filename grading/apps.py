from django.apps import AppConfig


class GradingConfig(AppConfig):
    name = "grading"
    # The label the app had when the project package and the grading app were one: existing
    # databases keep their tables (grader_submission...) and migration history.
    label = "grader"
    verbose_name = "Grading"

    def ready(self):
        from django.db.models.signals import post_save

        # worker: the Celery signal handlers of the grading worker (janitor at start, pool at
        # shutdown), connected on import; metrics: its measurements on its announcements.
        from grading import live, metrics, signals, worker  # noqa: F401

        # What a submission's live part shows changed: its cached version goes (grading.live).
        post_save.connect(live.on_saved, dispatch_uid="grading.live")
        signals.submission_scored.connect(live.on_scored, dispatch_uid="grading.live")
        signals.submission_requeued.connect(live.on_requeued, dispatch_uid="grading.live")
