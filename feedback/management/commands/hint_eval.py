from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test import override_settings

from courses.models import Assignment
from feedback import evaluation


class Command(BaseCommand):
    help = (
        "Hint quality over the shipped buggy programs (feedback/evalset/) against the configured "
        "model server, or another: schema-valid, guard pass, on the known bug, leaks, validated "
        "repairs, tokens, time to first token, latency. Writes Markdown and PNG plots. Needs the "
        "demo course (manage.py seed_demo) and the sandbox."
    )

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.LLM_BASE_URL)
        parser.add_argument("--model", default=settings.LLM_MODEL)
        parser.add_argument("--course", default="cs101", help="the course holding the demo assignments")
        parser.add_argument("--limit", type=int, default=0, help="only the first N programs (0: all)")
        parser.add_argument("--concurrency", type=int, default=4)
        parser.add_argument("--no-repair", action="store_true", help="skip the sandbox-checked repairs")
        parser.add_argument("--out", default="var/hint-eval.md")

    def handle(self, *args, **opts):
        if not opts["base_url"]:
            raise CommandError("No server: set LLM_BASE_URL or pass --base-url http://host:port/v1")
        if opts["limit"] < 0 or opts["concurrency"] < 1:
            raise CommandError("--limit must be 0 or more and --concurrency at least 1")
        cases = evaluation.load_cases()
        if opts["limit"]:
            cases = cases[: opts["limit"]]
        slugs = sorted({c.assignment for c in cases})
        assignments = {
            a.slug: a
            for a in Assignment.objects.select_related("course").filter(
                course__code=opts["course"], slug__in=slugs
            )
        }
        missing = [s for s in slugs if s not in assignments]
        if missing:
            raise CommandError(
                f"course {opts['course']!r} has no assignment {', '.join(missing)}: run manage.py seed_demo first"
            )
        # The server asked is this command's, not the platform's: the settings change only here.
        with override_settings(LLM_BASE_URL=opts["base_url"], LLM_BASE_URLS=[], LLM_MODEL=opts["model"]):
            results = evaluation.evaluate(
                cases, assignments, repair=not opts["no_repair"], concurrency=opts["concurrency"]
            )
        out = Path(opts["out"])
        out.parent.mkdir(parents=True, exist_ok=True)
        text = evaluation.write_markdown(results, opts["model"], opts["base_url"])
        plots = evaluation.write_plots(results, out.parent)
        text += "\n" + "\n".join(f"![{p.stem}]({p.name})" for p in plots) + "\n"
        out.write_text(text)
        self.stdout.write(text)
        self.stdout.write(f"written to {out} and {', '.join(str(p) for p in plots)}")
