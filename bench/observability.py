"""What the operator's middleware costs per request, two ways:

- end to end: the same page served in-process by Django's test client, N times, with and without
  the three middleware the operator's tools add (the request-id/ops middleware and
  django-prometheus's before/after), interleaved in rounds in a shuffled order so that machine
  noise hits all alike: µs per request for each variant, its difference and ratio to none;
- alone: each middleware wrapped around a view that returns at once (what it adds, without the
  page's own cost and its noise).

    python -m bench.observability [--n 2000] [--rounds 40] [--path /accounts/login/]

The page needs no database (an anonymous login form). No assertion: this prints, a person judges.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

OPS = "grader.ops.OpsMiddleware"
ADDED = (
    OPS,
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
    variants = {
        "all three": full,
        "django-prometheus only": [m for m in full if m != OPS],
        "request ids only": [m for m in full if m == OPS or m not in ADDED],
        "none (baseline)": [m for m in full if m not in ADDED],
    }
    timings: dict[str, list[float]] = {name: [] for name in variants}
    per_round = max(1, args.n // args.rounds)
    order = list(variants)
    for _ in range(args.rounds):
        random.shuffle(order)  # no variant always runs first or last in a round
        for name in order:
            middleware = variants[name]
            with override_settings(MIDDLEWARE=middleware):
                client = Client()
                assert client.get(args.path).status_code == 200  # warm: middleware loaded, template cached
                started = time.perf_counter()
                for _ in range(per_round):
                    client.get(args.path)
                timings[name].append((time.perf_counter() - started) / per_round * 1e6)
    median = {name: statistics.median(values) for name, values in timings.items()}
    baseline = median["none (baseline)"]
    print(f"{args.path}, {per_round * args.rounds} requests per variant, median of {args.rounds} rounds")
    for name, us in median.items():
        print(f"  {name:24} {us:8.1f} µs per request  +{us - baseline:6.1f} µs  ratio {us / baseline:.3f}")
    alone(args.path)


def alone(path: str, n: int = 20000) -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve
    from django_prometheus.middleware import PrometheusAfterMiddleware, PrometheusBeforeMiddleware

    from grader.ops import OpsMiddleware

    request, response = RequestFactory().get(path), HttpResponse(b"ok")
    match = request.resolver_match = resolve(path)

    def view(r):
        return response

    after = PrometheusAfterMiddleware(view)

    def with_view_hook(r):
        after.process_view(r, match.func, match.args, match.kwargs)
        return after(r)

    stacks = {
        "nothing": view,
        "request ids (ops)": OpsMiddleware(view),
        "django-prometheus": PrometheusBeforeMiddleware(with_view_hook),
    }
    print(f"  alone, around a view that returns at once ({n} calls each):")
    base = None
    for name, stack in stacks.items():
        started = time.perf_counter()
        for _ in range(n):
            stack(request)
        us = (time.perf_counter() - started) / n * 1e6
        base = us if base is None else base
        print(f"    {name:22} {us:7.2f} µs per request  +{us - base:6.2f} µs")


if __name__ == "__main__":
    main()
