import json
import sys

from django.core.management.base import BaseCommand

from grading import health


class Command(BaseCommand):
    help = (
        "Is this worker host ready to take jobs: the database, the broker, the Docker daemon and the "
        "sandbox image? Prints a JSON object naming what failed; exit status 1 if anything did "
        "(a Docker or Kubernetes healthcheck)."
    )
    requires_system_checks: list[str] = []  # a check that needs the database must not stop this one

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-sandbox", action="store_true", help="a worker that runs no containers (feedback, webhooks)"
        )

    def handle(self, *args, no_sandbox: bool = False, **opts):
        failed = {name: problem for name, problem in health.worker(not no_sandbox).items() if problem}
        self.stdout.write(
            json.dumps({"status": "unavailable", "failed": failed} if failed else {"status": "ok"})
        )
        if failed:
            sys.exit(1)
