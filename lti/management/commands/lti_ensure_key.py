"""Make the LTI tool's signing key if there is no active one (idempotent; set-up runs it).
To rotate: ``manage.py rotate_keys`` (django-lti's: a new key, and keys older than
``--deactivate-after`` days leave the JWKS)."""

from django.core.management.base import BaseCommand
from lti_tool.models import Key


class Command(BaseCommand):
    help = "Creates the LTI tool's signing key unless an active one exists."

    def handle(self, *args, **options):
        key = Key.objects.active().order_by("-datetime_created").first()
        if key is None:
            key = Key.objects.generate()
            self.stdout.write(f"LTI signing key created: {key}")
        else:
            self.stdout.write(f"LTI signing key: ok ({key})")
