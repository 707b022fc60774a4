from django.core.management.base import BaseCommand

from courses import demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo course, its people and its assignments. Idempotent."

    def handle(self, *args, **options):
        course = demo.seed()
        self.stdout.write(
            f"demo course {course.code} ready; logins: "
            + ", ".join(name for name, _ in demo.PEOPLE)
            + f" / password {demo.PASSWORD}"
        )
