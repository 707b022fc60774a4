"""Make the LTI tool's signing key if there is no active one (idempotent; set-up runs it).
To rotate: ``manage.py rotate_keys`` (django-lti's: a new key, and keys older than
``--deactivate-after`` days leave the JWKS)."""

from django.core.management.base import BaseCommand, CommandError
from lti_tool.models import Key


class Command(BaseCommand):
    help = "Creates the LTI tool's signing key unless an active one exists."

    def add_arguments(self, parser):
        parser.add_argument(
            "--check", action="store_true", help="Only say whether one exists (exit 1 if not)."
        )

    def handle(self, *args, check=False, **options):
        key = Key.objects.active().order_by("-datetime_created").first()
        if key is not None:
            self.stdout.write(f"LTI signing key: ok ({key})")
        elif check:
            raise CommandError("There is no active LTI signing key.")
        else:
            self.stdout.write(f"LTI signing key created: {Key.objects.generate()}")
