from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from feedback import report


class Command(BaseCommand):
    help = "Benchmark an OpenAI-compatible server (hint, grade, code review); write a Markdown report and PNG plots."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.LLM_BASE_URL)
        parser.add_argument("--model", default=settings.LLM_MODEL)
        parser.add_argument("--api-key", default=settings.LLM_API_KEY)
        parser.add_argument(
            "--concurrency", default=f"1,{settings.LLM_MAX_IN_FLIGHT}", help="comma-separated, e.g. 1,16"
        )
        parser.add_argument("--requests", type=int, default=32, help="per scenario and concurrency")
        parser.add_argument("--out", default="var/llm-report.md")

    def handle(self, *args, **opts):
        if not opts["base_url"]:
            raise CommandError("No server: set LLM_BASE_URL or pass --base-url http://host:port/v1")
        try:
            levels = [int(c) for c in opts["concurrency"].split(",") if c.strip()]
        except ValueError:
            raise CommandError(
                f"--concurrency must be integers separated by commas, got {opts['concurrency']!r}"
            ) from None
        if not levels or min(levels) < 1 or opts["requests"] < 1:
            raise CommandError("--concurrency values and --requests must be at least 1")
        rows = report.run(opts["base_url"], opts["api_key"], opts["model"], levels, opts["requests"])
        text = report.write_markdown(rows, opts["model"], opts["base_url"])
        Path(opts["out"]).parent.mkdir(parents=True, exist_ok=True)
        plots = report.write_plots(rows, Path(opts["out"]).parent)
        text += "\n" + "\n".join(f"![{p.stem}]({p.name})" for p in plots) + "\n"
        Path(opts["out"]).write_text(text)
        self.stdout.write(text)
        self.stdout.write(f"written to {opts['out']} and {', '.join(str(p) for p in plots)}")
