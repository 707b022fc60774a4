"""What the operator's middleware costs per request: the same page served in-process by Django's
test client, N times, with the full middleware list and without the three this adds (the
request-id/ops middleware and django-prometheus's before/after), interleaved in rounds so that
machine noise hits both alike. Prints µs per request for each, the difference and the ratio.

    python -m bench.observability [--n 2000] [--path /accounts/login/]

The page needs no database (an anonymous login form). No assertion: this prints, a person judges.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

ADDED = (
    "grader.ops.OpsMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="requests per variant")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--path", default="/accounts/login/")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "grader.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client, override_settings

    full = list(settings.MIDDLEWARE)
    variants = {"with": full, "without": [m for m in full if m not in ADDED]}
    timings: dict[str, list[float]] = {name: [] for name in variants}
    per_round = max(1, args.n // args.rounds)
    for _ in range(args.rounds):
        for name, middleware in variants.items():
            with override_settings(MIDDLEWARE=middleware):
                client = Client()
                assert client.get(args.path).status_code == 200  # warm: middleware loaded, template cached
                started = time.perf_counter()
                for _ in range(per_round):
                    client.get(args.path)
                timings[name].append((time.perf_counter() - started) / per_round * 1e6)
    with_us, without_us = statistics.median(timings["with"]), statistics.median(timings["without"])
    print(f"{args.path}, {per_round * args.rounds} requests per variant, median of {args.rounds} rounds")
    print(f"  with the ops + metrics middleware: {with_us:8.1f} µs per request")
    print(f"  without them:                      {without_us:8.1f} µs per request")
    print(
        f"  added: {with_us - without_us:.1f} µs per request; ratio with/without: {with_us / without_us:.3f}"
    )


if __name__ == "__main__":
    main()
