"""The metrics an operator watches, through a real Prometheus: it scrapes the site under gunicorn
(multiprocess metrics) and the test Celery worker's metrics port while a known workload is graded
by real containers; its HTTP API must report what happened. The shipped alert rules and
dashboard may only name metrics that a scrape has."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from api.models import ApiToken
from tests.conftest import CORRECT, WRONG, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.docker, pytest.mark.worker]

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "grader.json"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


class Prometheus:
    def __init__(self, url: str):
        self.url = url

    def query(self, expr: str) -> list[dict]:
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def names(self) -> set[str]:
        return set(requests.get(f"{self.url}/api/v1/label/__name__/values", timeout=10).json()["data"])

    def scraped_since(self, moment: float) -> bool:
        """Both targets were scraped after ``moment`` (what a query returns is no older)."""
        return self.value(f'count(timestamp(up{{job=~"web|grading"}}) > {moment})') == 2


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory, web_server, celery_worker):
    """A real Prometheus (Debian's package) scraping both every second, with the shipped rules."""
    home = tmp_path_factory.mktemp("prometheus")
    web = web_server.url.removeprefix("http://")
    config = {  # JSON is YAML
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {"job_name": "web", "static_configs": [{"targets": [web]}]},
            {
                "job_name": "grading",
                "static_configs": [{"targets": [f"127.0.0.1:{celery_worker.metrics_port}"]}],
            },
        ],
    }
    (home / "prometheus.yml").write_text(json.dumps(config))
    port = free_port()
    with open(home / "prometheus.log", "wb") as log:
        proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    prom = Prometheus(f"http://127.0.0.1:{port}")

    def ready() -> bool:
        try:
            return requests.get(prom.url + "/-/ready", timeout=1).ok
        except requests.RequestException:
            return proc.poll() is not None

    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.2)
    if proc.poll() is not None:
        raise RuntimeError("prometheus did not start:\n" + (home / "prometheus.log").read_text()[-3000:])
    yield prom
    proc.terminate()
    proc.wait(30)


@pytest.fixture
def api(people, course):
    _, text = ApiToken.issue("LMS", ["submit", "read"], [course], people["instructor"])
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {text}"
    return session


def submit(web_server, api, student: str, code: str) -> int:
    response = api.post(
        f"{web_server.url}/api/v1/courses/cs1/assignments/add/submissions/",
        json={"student": f"{student}@example.edu", "files": {"solution.py": code}},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


# What the workload must add to each counter (sums over every process of every target).
def expected_increase(n: int, failing: int) -> dict[str, int]:
    return {
        'sum(grader_submission_transitions_total{state="queued"})': n,
        'sum(grader_submission_transitions_total{state="graded"})': n,
        'sum(grader_grading_tasks_total{outcome="graded"})': n,
        'sum(grader_sandbox_run_seconds_count{status="ok"})': n,
        'sum(grader_sandbox_test_outcomes_total{outcome="failed"})': failing,
        'sum(grader_sandbox_test_outcomes_total{outcome="passed"})': 3 * n - failing,
        "sum(grader_submit_to_graded_seconds_count)": n,
        'sum(django_http_responses_total_by_status_total{job="web", status="201"})': n,
    }


def test_it_reports_a_known_workload(prometheus, web_server, celery_worker, api, assignment, wait_for):
    started = time.time()
    assert wait_for(lambda: prometheus.scraped_since(started), 60), "Prometheus does not scrape both targets"
    assert prometheus.value('sum(up{job="web"})') == 1 and prometheus.value('sum(up{job="grading"})') == 1
    n, failing = 4, 2
    expected = expected_increase(n, failing)
    before = {expr: prometheus.value(expr) or 0.0 for expr in expected}
    hints_before = prometheus.value("sum(grader_submit_to_hint_seconds_count)") or 0.0

    ids = [
        submit(web_server, api, student, code)
        for student, code in [("alice", CORRECT), ("bob", WRONG), ("alice", WRONG), ("bob", CORRECT)]
    ]

    graded = 'sum(grader_submission_transitions_total{state="graded"})'
    assert wait_for(lambda: (prometheus.value(graded) or 0) - before[graded] >= n, 180), "not graded"
    moment = time.time()
    assert wait_for(lambda: prometheus.scraped_since(moment), 30)
    increases = {expr: (prometheus.value(expr) or 0) - before[expr] for expr in expected}
    assert increases == expected
    assert prometheus.value("sum(max by (queue, priority) (grader_queue_depth))") == 0
    assert prometheus.value("count(grader_queue_depth)") == 40  # 4 queues x 10 priority lists
    assert prometheus.value("sum(grader_submissions)") == 0  # nothing queued or running
    assert prometheus.value('sum(grader_scrape_error{job="web"})') == 0
    # Both wrong solutions get a hint (the project's vLLM-like server, or the automatic one).
    hints = "sum(grader_submit_to_hint_seconds_count)"
    assert wait_for(lambda: (prometheus.value(hints) or 0) - hints_before >= failing, 120)
    assert len(set(ids)) == n


def test_every_metric_in_the_rules_and_the_dashboard_is_scraped(prometheus, web_server, api, course):
    api.get(f"{web_server.url}/api/v1/courses/cs1/", timeout=10)  # a request and its queries
    rules = [r["expr"] for group in yaml.safe_load(ALERTS.read_text())["groups"] for r in group["rules"]]
    panels = [t["expr"] for p in json.loads(DASHBOARD.read_text())["panels"] for t in p.get("targets", [])]
    wanted = metric_names(" ".join(rules + panels))
    assert len(wanted) > 20
    deadline = time.monotonic() + 60  # until the request above is scraped (bounded)
    while (missing := wanted - prometheus.names()) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert missing == set(), "named in deploy/ but never scraped"


def test_the_shipped_rules_load_into_prometheus(prometheus):
    groups = requests.get(f"{prometheus.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    alerts = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert "GraderNoGradingHost" in alerts and "GraderLLMBreakerOpen" in alerts
    assert (
        alerts["GraderNoGradingHost"]["health"] == "ok"
        and alerts["GraderNoGradingHost"]["state"] == "inactive"
    )


def metric_names(text: str) -> set[str]:
    return set(re.findall(r"\b(?:grader|django)_[a-z0-9_]+\b", text))


@pytest.mark.parametrize(
    "args",
    [
        ["check", "rules", str(ALERTS)],
        ["check", "config", str(CONFIG)],
        ["test", "rules", str(ALERTS.with_name("alerts_test.yml"))],  # the alerts fire when they should
    ],
    ids=["rules", "config", "alert-unit-tests"],
)
def test_promtool_accepts_the_shipped_files(args):
    result = subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
