"""`upmetr monitors ...` against a real server subprocess."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.console.cli_harness import run


def test_a_monitor_is_created_listed_shown_paused_resumed_and_deleted(config_dir: Path) -> None:
    created = run(
        config_dir,
        "monitors",
        "create",
        "--name",
        "Shop",
        "--type",
        "http",
        "--url",
        "https://shop.example/",
        "--header",
        "X-Env: prod",
        "--tag",
        "web",
        "--json",
    )
    assert created.exit_code == 0, created.output
    monitor = json.loads(created.stdout)
    assert monitor["headers"] == [{"name": "X-Env", "value": "prod"}]
    monitor_id = str(monitor["id"])

    listed = run(config_dir, "monitors", "list")
    assert listed.exit_code == 0 and "Shop" in listed.stdout and "pending" in listed.stdout
    as_json = json.loads(run(config_dir, "monitors", "list", "--json").stdout)
    assert monitor["id"] in [m["id"] for m in as_json["items"]]

    shown = run(config_dir, "monitors", "show", monitor_id)
    assert "https://shop.example/" in shown.stdout and "uptime 24h" in shown.stdout

    updated = run(config_dir, "monitors", "update", monitor_id, "--interval", "120", "--json")
    assert json.loads(updated.stdout)["interval_seconds"] == 120

    paused = run(config_dir, "monitors", "pause", monitor_id, "--json")
    assert json.loads(paused.stdout)["status"] == "paused"
    assert "Resumed" in run(config_dir, "monitors", "resume", monitor_id).stdout

    daily = run(config_dir, "monitors", "uptime", monitor_id, "--days", "3", "--json")
    assert daily.exit_code == 0 and len(json.loads(daily.stdout)) == 3

    assert run(config_dir, "monitors", "delete", monitor_id, "--yes").exit_code == 0
    gone = run(config_dir, "monitors", "show", monitor_id)
    assert gone.exit_code == 1 and "not found" in gone.output.lower()


def test_a_heartbeat_monitor_prints_its_ping_url(config_dir: Path) -> None:
    result = run(config_dir, "monitors", "create", "--name", "Backup", "--type", "heartbeat")
    assert result.exit_code == 0, result.output
    assert "Ping URL: http" in result.stdout and "/heartbeat/hb_" in result.stdout


def test_a_bad_monitor_is_reported_without_a_traceback(config_dir: Path) -> None:
    result = run(config_dir, "monitors", "create", "--name", "X", "--type", "tcp", "--host", "db")
    assert result.exit_code == 1
    assert "port" in result.output and "Traceback" not in result.output


@pytest.fixture
def http_target() -> Iterator[str]:
    """A plain HTTP server on 127.0.0.1 answering 200 to every GET."""

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_check_now_runs_a_check_and_prints_its_result(config_dir: Path, http_target: str) -> None:
    created = run(
        config_dir, "monitors", "create", "--name", "Local", "--type", "http",
        "--url", http_target, "--paused", "--json",
    )  # fmt: skip
    monitor_id = str(json.loads(created.stdout)["id"])
    printed = run(config_dir, "monitors", "check-now", monitor_id)
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.startswith("up (HTTP 200) in ")
    as_json = json.loads(run(config_dir, "monitors", "check-now", monitor_id, "--json").stdout)
    assert (as_json["status"], as_json["status_code"]) == ("up", 200)
    shown = json.loads(run(config_dir, "monitors", "show", monitor_id, "--json").stdout)
    assert shown["status"] == "paused"  # a paused monitor's result changes nothing
