"""The operator's settings fail loudly on bad values, like every other setting."""

import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from grader import env
from tests.conftest import ROOT


def test_it_refuses_a_network_that_is_not_one(monkeypatch):
    monkeypatch.setenv("X_NETS", "10.0.0.0/8, prometheus.internal")
    with pytest.raises(
        ImproperlyConfigured, match="X_NETS must list IP addresses or networks.*prometheus.internal"
    ):
        env.env_networks("X_NETS", [])


def test_it_reads_addresses_and_networks(monkeypatch):
    monkeypatch.setenv("X_NETS", "10.0.0.0/8,192.168.1.7,::1")
    assert [str(n) for n in env.env_networks("X_NETS", [])] == ["10.0.0.0/8", "192.168.1.7/32", "::1/128"]


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"WORKER_METRICS_PORT": "9808"}, "WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be one of json, text"),
        ({"METRICS_ALLOWED_NETWORKS": "everyone"}, "METRICS_ALLOWED_NETWORKS must list IP addresses"),
    ],
)
def test_start_up_stops_on_a_bad_operator_setting(environ, message):
    full = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"} | environ
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=full, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and message in result.stderr
