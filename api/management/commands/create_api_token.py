from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from api.models import SCOPES, ApiToken
from courses.models import Course


class Command(BaseCommand):
    help = "Create an API token for an integration; prints it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--course", action="append", required=True, help="course code; repeat for several"
        )
        parser.add_argument("--scopes", default="read", help=f"comma-separated: {', '.join(SCOPES)}")
        parser.add_argument("--owner", required=True, help="username of the person responsible for it")
        parser.add_argument("--days", type=int, default=0, help="expire after this many days (0: never)")

    def handle(self, *args, **opts):
        courses = list(Course.objects.filter(code__in=opts["course"]))
        missing = set(opts["course"]) - {c.code for c in courses}
        if missing:
            raise CommandError(f"No such course: {', '.join(sorted(missing))}")
        owner = get_user_model().objects.filter(username=opts["owner"]).first()
        if owner is None:
            raise CommandError(f"No such user: {opts['owner']}")
        expires = timezone.now() + timedelta(days=opts["days"]) if opts["days"] > 0 else None
        try:
            _, text = ApiToken.issue(
                opts["name"],
                [s.strip() for s in opts["scopes"].split(",") if s.strip()],
                courses,
                owner,
                expires,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(text)
