"""The web container's health check (compose.yaml): GET /healthz through gunicorn as a proxy
would send it (an allowed Host, X-Forwarded-Proto https). A web tier without /healthz answers
404 there; its login page is then the probe. Exit 0: healthy."""

import os
import sys
import urllib.error
import urllib.request

PROBES = ("/healthz", "/accounts/login/")


def status(path: str) -> int:
    hosts = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
    host = next((h for h in hosts if not h.startswith(".") and h != "*"), "localhost")
    request = urllib.request.Request(
        f"http://127.0.0.1:{os.environ.get('PORT', '8000')}{path}",
        headers={"Host": host, "X-Forwarded-Proto": "https"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def main() -> int:
    for path in PROBES:
        code = status(path)
        if code != 404:
            return 0 if code == 200 else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
