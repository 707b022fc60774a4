from datetime import UTC, datetime

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from feedback.dispatcher import check_server_now


def _when(value: str) -> str:
    return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "never"


class Command(BaseCommand):
    help = (
        "Check the model server now: does it serve LLM_MODEL, with what context length; show the "
        "last configuration problem and the last request it refused. Exit status 1 on a problem."
    )

    def handle(self, *args, **opts):
        if not settings.LLM_BASE_URL:
            raise CommandError("model hints are off: LLM_BASE_URL is empty")
        status = check_server_now()
        self.stdout.write(f"server:          {settings.LLM_BASE_URL}")
        self.stdout.write(f"model:           {settings.LLM_MODEL}")
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
            raise CommandError(f"model hints are not served: {status['problem']}")
        self.stdout.write(self.style.SUCCESS("ok: model hints can be served"))
