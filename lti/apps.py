from django.apps import AppConfig


class LtiConfig(AppConfig):
    name = "lti"
    verbose_name = "LTI 1.3"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Subscribes to the grading app's announcements (see grading.signals): grades go back to the LMS.
        from lti import receivers  # noqa: F401
