"""`upmetr channels|rules|notifications|deliveries` against a real server subprocess, with a
webhook receiver on 127.0.0.1 for the test messages."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from shared.client import Client
from tests.console.cli_harness import run

SLACK_URL = "https://hooks.slack.com/services/T000/B000/SECRETSECRETSECRET1234"


class Receiver(ThreadingHTTPServer):
    """Answers every POST with `status` and keeps the requests' headers."""

    status = 200
    headers_seen: list[dict[str, str]]

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.headers_seen.append(dict(self.headers))
        answer = b"ok" if self.server.status < 400 else b"no such hook"
        self.send_response(self.server.status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(("127.0.0.1", 0), _Handler)
    server.headers_seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_channels_or_rules(api: Client) -> None:
    """The server lives for the module: each test starts without the others' channels."""
    for rule in api.notification_rules.list(per_page=200).items:
        api.notification_rules.delete(rule.id)
    for channel in api.channels.list(per_page=200).items:
        api.channels.delete(channel.id)


def test_a_slack_channel_is_added_listed_shown_switched_and_removed(config_dir: Path) -> None:
    added = run(config_dir, "channels", "add", "slack", "--name", "ops", "--url", SLACK_URL)
    assert added.exit_code == 0, added.output
    assert added.stdout.startswith("Channel ") and "ops (slack)" in added.stdout
    listed = run(config_dir, "channels", "list")
    assert listed.stdout.splitlines()[0].split() == [
        "ID", "NAME", "TYPE", "ENABLED", "LAST", "DELIVERED", "LAST", "ERROR",
    ]  # fmt: skip
    channel = json.loads(run(config_dir, "channels", "list", "--json").stdout)["items"][0]
    assert (channel["name"], channel["config"]) == ("ops", {"url": "****1234"})
    shown = run(config_dir, "channels", "show", str(channel["id"]))
    assert "****1234" in shown.stdout and SLACK_URL not in shown.stdout
    off = run(config_dir, "channels", "disable", str(channel["id"]), "--json")
    assert json.loads(off.stdout)["enabled"] is False
    on = run(config_dir, "channels", "enable", str(channel["id"]))
    assert on.stdout.strip() == f"Channel {channel['id']} enabled: ops"
    removed = run(config_dir, "channels", "rm", str(channel["id"]), "--yes")
    assert removed.exit_code == 0, removed.output
    gone = run(config_dir, "channels", "show", str(channel["id"]))
    assert gone.exit_code == 1 and gone.stderr.startswith("Error: ")


def test_a_webhook_gets_a_secret_printed_once_and_the_test_message_is_signed_with_it(
    config_dir: Path, receiver: Receiver
) -> None:
    added = run(config_dir, "channels", "add", "webhook", "--name", "hook", "--url", receiver.url)
    assert added.exit_code == 0, added.output
    secret = next(line.split(": ", 1)[1] for line in added.stdout.splitlines() if "secret:" in line)
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
    assert "never shows it again" in added.stdout
    channel_id = json.loads(run(config_dir, "channels", "list", "--json").stdout)["items"][0]["id"]
    assert secret not in run(config_dir, "channels", "show", str(channel_id)).stdout

    tested = run(config_dir, "channels", "test", str(channel_id))
    assert tested.exit_code == 0, tested.output
    assert "delivered" in tested.stdout and "200" in tested.stdout
    assert receiver.headers_seen[-1]["webhook-signature"].startswith("v1,")
    receiver.status = 404
    failed = run(config_dir, "channels", "test", str(channel_id), "--json")
    assert failed.exit_code == 1
    assert (json.loads(failed.stdout)["ok"], json.loads(failed.stdout)["status_code"]) == (
        False,
        404,
    )


def test_json_add_carries_the_generated_secret_and_bad_config_is_a_clear_error(
    config_dir: Path,
) -> None:
    added = run(
        config_dir, "channels", "add", "webhook", "--name", "j", "--url",
        "https://hooks.example.com/x", "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    created = json.loads(added.stdout)
    assert created["generated_secret"].startswith("whsec_")
    assert created["config"]["secret"].startswith("****")
    refused = run(config_dir, "channels", "add", "slack", "--name", "bad")
    assert refused.exit_code == 1
    assert refused.stderr.startswith("Error: ") and "url" in refused.stderr
    malformed = run(config_dir, "channels", "add", "twilio", "--name", "t", "--config", "sid")
    assert malformed.exit_code == 2 and "KEY=VALUE" in malformed.stderr


def test_rules_are_added_listed_switched_and_removed(config_dir: Path, api: Client) -> None:
    first = api.channels.create(name="a", type="slack", config={"url": SLACK_URL})
    second = api.channels.create(name="b", type="slack", config={"url": SLACK_URL})
    added = run(
        config_dir, "rules", "add", "--name", "pages",
        "--events", "incident.opened,incident.resolved", "--channel", str(first.id),
        "--min-severity", "error", "--escalate-after", "15", "--escalate-to", str(second.id),
        "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    rule = json.loads(added.stdout)
    assert rule["events"] == ["incident.opened", "incident.resolved"]
    assert (rule["channel_ids"], rule["escalation_channel_ids"]) == ([first.id], [second.id])
    listed = run(config_dir, "rules", "list")
    assert f"after 15 min to {second.id}" in listed.stdout
    assert "incident.opened,incident.resolved" in listed.stdout
    off = run(config_dir, "rules", "disable", str(rule["id"]))
    assert off.stdout.strip() == f"Rule {rule['id']} disabled: pages"
    assert api.notification_rules.get(rule["id"]).enabled is False
    run(config_dir, "rules", "enable", str(rule["id"]))
    assert api.notification_rules.get(rule["id"]).enabled is True
    wrong = run(
        config_dir, "rules", "add", "--name", "x", "--events", "incident.exploded",
        "--channel", str(first.id),
    )  # fmt: skip
    assert wrong.exit_code == 1 and "events" in wrong.stderr
    assert run(config_dir, "rules", "rm", str(rule["id"]), "--yes").exit_code == 0
    assert api.notification_rules.list().total == 0


def test_the_inbox_lists_marks_read_and_deletes(config_dir: Path, api: Client) -> None:
    api.notifications.read_all()
    api.incidents.create(title="CLI inbox: db down", severity="critical")
    unread = run(config_dir, "notifications", "--unread")
    assert unread.exit_code == 0, unread.output
    assert unread.stdout.splitlines()[0].split() == ["ID", "STATE", "SEVERITY", "AT", "TITLE"]
    line = next(row for row in unread.stdout.splitlines() if "CLI inbox: db down" in row)
    assert line.split()[1] == "unread"
    line_id = line.split()[0]
    read = run(config_dir, "notifications", "read", line_id, "--json")
    assert json.loads(read.stdout)["read"] is True
    assert api.notifications.unread_count().unread == 0
    api.incidents.create(title="CLI inbox: disk", severity="warning")
    assert run(config_dir, "notifications", "read-all").exit_code == 0
    assert json.loads(run(config_dir, "notifications", "--unread", "--json").stdout)["total"] == 0
    assert run(config_dir, "notifications", "rm", line_id).exit_code == 0
    missing = run(config_dir, "notifications", "read", line_id)
    assert missing.exit_code == 1 and missing.stderr.startswith("Error: ")


def test_deliveries_show_each_attempt_and_filter(
    config_dir: Path, api: Client, receiver: Receiver
) -> None:
    channel = api.channels.create(
        name="hook", type="webhook",
        config={"url": receiver.url, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    )  # fmt: skip
    api.notification_rules.create(name="all", events=["incident.*"], channel_ids=[channel.id])
    receiver.status = 503
    api.incidents.create(title="CLI deliveries", severity="critical")
    log = wait_for_attempt(config_dir, channel.id)
    assert log["items"][0]["attempt_log"][0]["status_code"] == 503
    table = run(
        config_dir, "deliveries", "--channel", str(channel.id), "--event", "incident.opened"
    )
    assert table.exit_code == 0, table.output
    assert table.stdout.splitlines()[0].split() == [
        "ID", "CHANNEL", "EVENT", "STATUS", "ATTEMPT", "AT", "RESULT",
    ]  # fmt: skip
    assert "503" in table.stdout and "incident.opened" in table.stdout
    none = run(config_dir, "deliveries", "--status", "cancelled", "--channel", str(channel.id))
    assert len(none.stdout.splitlines()) == 1  # the headings alone


def wait_for_attempt(config_dir: Path, channel_id: int) -> dict[str, object]:
    """The worker of `upmetr serve` sends the delivery within a moment."""
    deadline = time.monotonic() + 20
    while True:
        out = run(config_dir, "deliveries", "--channel", str(channel_id), "--json")
        log = json.loads(out.stdout)
        if log["items"] and log["items"][0]["attempt_log"]:
            return dict(log)
        assert time.monotonic() < deadline, "no attempt within 20 s"
        time.sleep(0.2)


def test_preferences_are_shown_and_changed_part_by_part(config_dir: Path, api: Client) -> None:
    shown = run(config_dir, "notifications", "preferences")
    assert shown.exit_code == 0, shown.output
    assert "quiet hours   off" in shown.stdout and "incident.opened" in shown.stdout
    changed = run(
        config_dir, "notifications", "preferences", "--min-severity", "error",
        "--no-email", "--event", "incident.opened", "--quiet-hours", "22:30-07:00",
        "--timezone", "Europe/Paris", "--critical-bypass", "--json",
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    stored = api.notifications.preferences()
    assert stored.min_severity.value == "error"
    assert (stored.quiet_hours.start, stored.quiet_hours.timezone) == ("22:30", "Europe/Paris")
    assert stored.quiet_hours.critical_bypass is True
    assert stored.completed().events["incident.opened"].email is False
    assert json.loads(changed.stdout)["quiet_hours"]["enabled"] is True
    refused = run(config_dir, "notifications", "preferences", "--timezone", "Mars/Olympus")
    assert refused.exit_code == 1 and "IANA" in refused.output
    run(config_dir, "notifications", "preferences", "--quiet-hours", "off")
    assert api.notifications.preferences().quiet_hours.enabled is False


def test_a_channel_is_updated_keeping_the_secrets_not_given(config_dir: Path, api: Client) -> None:
    added = run(config_dir, "channels", "add", "slack", "--name", "ops", "--url", SLACK_URL)
    assert added.exit_code == 0, added.output
    (channel,) = api.channels.list().items
    new_url = SLACK_URL.replace("1234", "5678")
    renamed = run(config_dir, "channels", "update", str(channel.id), "--name", "ops-2", "--json")
    assert json.loads(renamed.stdout)["config"] == {"url": "****1234"}  # kept
    moved = run(config_dir, "channels", "update", str(channel.id), "--url", new_url, "--json")
    assert json.loads(moved.stdout)["config"] == {"url": "****5678"}
    nothing = run(config_dir, "channels", "update", str(channel.id))
    assert nothing.exit_code == 2 and "name a change" in nothing.output
