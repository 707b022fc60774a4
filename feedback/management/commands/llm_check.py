from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from feedback.dispatcher import check_servers_now


def _when(value: str) -> str:
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


class Command(BaseCommand):
    help = (
        "Check every model server now: does it serve LLM_MODEL, with what context length; show the "
        "last configuration problem and the last request it refused. Exit status 1 on a problem."
    )

    def handle(self, *args, **opts):
        statuses = check_servers_now()
        if not statuses:
            raise CommandError("model hints are off: LLM_BASE_URL and LLM_BASE_URLS are empty")
        problems = []
        self.stdout.write(f"model:           {settings.LLM_MODEL}")
        for url, status in statuses.items():
            self.stdout.write(f"server:          {url}")
            self.stdout.write(f"served models:   {status.get('models') or '-'}")
            length = settings.LLM_MAX_MODEL_LEN or status.get("max_model_len") or "unknown"
            source = "LLM_MAX_MODEL_LEN" if settings.LLM_MAX_MODEL_LEN else "the server"
            self.stdout.write(f"context length:  {length} tokens (from {source})")
            if status.get("refused"):
                self.stdout.write(
                    f"last refusal:    {status['refused']} ({_when(status.get('refused_at', ''))}, "
                    f"{status.get('refused_count', 0)} in all)"
                )
            if status.get("problem"):
                self.stdout.write(f"problem:         {status['problem']}")
                problems.append(status["problem"])
        if len(problems) == len(statuses):
            raise CommandError(f"model hints are not served: {'; '.join(problems)}")
        if problems:
            raise CommandError(
                f"{len(problems)} of {len(statuses)} servers cannot serve hints (the others do)"
            )
        self.stdout.write(self.style.SUCCESS("ok: model hints can be served"))
