"""manage.py llm_report against the dev server, and its input errors."""

import pytest
from django.core.management import CommandError, call_command


def test_it_reports_each_scenario_at_each_concurrency(llm_server, tmp_path):
    out = tmp_path / "report.md"
    call_command(
        "llm_report",
        "--base-url",
        llm_server.url,
        "--concurrency",
        "1,4",
        "--requests",
        "4",
        "--out",
        str(out),
    )
    text = out.read_text()
    for scenario in ("hint", "grade", "code review"):
        assert f"| {scenario} | 1 |" in text and f"| {scenario} | 4 |" in text
    assert "server processes RSS (GB)" in text  # sampled while the requests ran, whole process tree
    assert "tokens per request: prompt / cached / completion" in text
    for png in ("llm-latency.png", "llm-throughput.png"):
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"]({png})" in text


@pytest.mark.parametrize(
    "args, message",
    [
        (["--concurrency", "one"], "must be integers"),
        (["--concurrency", "0"], "at least 1"),
        (["--base-url", ""], "No server"),
    ],
)
def test_it_explains_bad_arguments(args, message, settings):
    settings.LLM_BASE_URL = "http://127.0.0.1:9/v1"
    with pytest.raises(CommandError, match=message):
        call_command("llm_report", *args)
