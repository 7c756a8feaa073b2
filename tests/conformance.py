"""Schemathesis over the served OpenAPI document, against a running server with real objects.

Shared by tests/server/test_schema_conformance.py (the in-process server, few examples) and
benchmarks/fuzz.py (an installed `upmetr serve`, ten thousand cases and more). Every
operation runs with a superadmin's token and the ids of objects made for it first; an
operation that deletes gets an object of its own, so the others keep theirs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import schemathesis
from schemathesis.engine import events
from schemathesis.engine.statistic import Statistic

from server.http.routing import Access
from server.routes import ROUTES

API = "/api/v1"
MOTO_AMI = "ami-12c6146b"  # one of moto's bundled AMIs


@dataclass
class Objects:
    """What the seeding made: a token and the path parameters of each operation."""

    token: str
    parameters: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


class _Seeder:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 201) -> Any:
        response = self.http.post(API + path, json=body)
        assert response.status_code == expect, f"POST {path}: {response.text}"
        return response.json() if response.content else None

    def get(self, path: str) -> Any:
        response = self.http.get(API + path)
        assert response.status_code == 200, f"GET {path}: {response.text}"
        return response.json()

    def monitor(self, name: str, **extra: Any) -> dict[str, Any]:
        body = {"name": name, "type": "http", "url": "https://example.com/", **extra}
        created: dict[str, Any] = self.post("/monitors", body)
        return created

    def incident(self, title: str) -> int:
        body = {"title": title, "severity": "warning", "description": "seeded"}
        return int(self.post("/incidents", body)["id"])

    def budget(self, name: str) -> int:
        return int(
            self.post("/budgets", {"name": name, "amount": "100", "period": "monthly"})["id"]
        )

    def channel(self, name: str) -> int:
        body = {"name": name, "type": "email", "config": {"to": ["seeded@example.com"]}}
        return int(self.post("/notifications/channels", body)["id"])

    def rule(self, name: str, channel_id: int) -> int:
        body = {"name": name, "events": ["incident.*"], "channel_ids": [channel_id]}
        return int(self.post("/notifications/rules", body)["id"])

    def alert_rule(self, name: str) -> int:
        body = {"name": name, "trigger_type": "monitor_down", "severity": "error"}
        return int(self.post("/alert-rules", body)["id"])

    def metric_rule(self, name: str) -> int:
        body = {"name": name, "trigger_type": "infra_metric", "metric": "cpu_pct",
                "condition": "above", "threshold": 90.0}  # fmt: skip
        return int(self.post("/alert-rules", body)["id"])

    def agent(self, name: str) -> int:
        """An agent that reported a sample with one container, `web`."""
        created = self.post("/agents", {"name": name})
        disk = {"mount": "/", "total_bytes": 100, "used_bytes": 40, "pct": 40.0}
        net = {"rx_bps": 1.0, "tx_bps": 1.0}
        sample = {"ts": datetime.now(UTC).isoformat(), "cpu_pct": 5.0, "mem_pct": 20.0,
                  "mem_used": 1000, "net": net, "disk": [disk]}  # fmt: skip
        batch = {"hostname": name, "interval_seconds": 10, "samples": [sample],
                 "containers": [{"name": "web", "state": "running", "cpu_pct": 1.0}]}  # fmt: skip
        response = self.http.post(
            API + "/agents/ingest", json=batch,
            headers={"Authorization": f"Bearer {created['token']}"},
        )  # fmt: skip
        assert response.status_code == 202, response.text
        return int(created["id"])

    def status_pages(self, monitor_id: int) -> dict[str, Any]:
        """The global page and a client page on, showing `monitor_id`; announcements and
        pending subscribers to address (one of each for deletion)."""
        page = {"enabled": True, "monitor_ids": [monitor_id]}
        response = self.http.put(API + "/status-pages/global", json=page)
        assert response.status_code == 200, response.text
        client = self.post("/status-pages/clients", {"name": "Seeded client", **page})
        org_slug = self.get("/organization")["slug"]
        for email in ("seeded.reader@example.com", "seeded.leaver@example.com"):
            self.post(f"/public/status/{org_slug}/subscribe", {"email": email}, expect=202)
        readers = self.get("/status-pages/subscribers?pending=true")["items"]
        note = {"title": "Seeded announcement", "body": "seeded"}
        return {
            "org_slug": org_slug,
            "client_slug": client["slug"],
            "client": client["id"],
            "deleted_client": self.post("/status-pages/clients", {"name": "Seeded for deletion"})[
                "id"
            ],
            "announcement": self.post("/status-pages/announcements", note)["id"],
            "deleted_announcement": self.post("/status-pages/announcements", note)["id"],
            "subscriber": readers[0]["id"],
            "deleted_subscriber": readers[1]["id"],
        }

    def member(self, email: str, password: str) -> int:
        body = {"email": email, "full_name": "Seeded", "password": password, "role": "viewer"}
        return int(self.post("/users", body)["id"])

    def invitation(self, email: str) -> int:
        return int(self.post("/users/invitations", {"email": email, "role": "viewer"})["id"])

    def account(self, name: str) -> int:
        body = {
            "name": name,
            "provider": "aws",
            "credentials": {"access_key_id": "AKIAEXAMPLEKEY0AB12", "secret_access_key": "x/y"},
            "default_region": "us-east-1",
            "regions": ["us-east-1"],  # discovery walks one region of moto, not all of them
        }
        return int(self.post("/cloud-accounts", body)["id"])

    def wait_for_job(self, job_id: int, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while self.get(f"/jobs/{job_id}")["status"] not in ("succeeded", "failed"):
            assert time.monotonic() < deadline, f"job {job_id} did not finish"
            time.sleep(0.1)


# A key used only as a shape: its private half was never kept.
SEEDED_SSH_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICc/WFL37QyQVHhrIug2/k2tEM947m2iCxsYuIst7wCm seeded"
)


def sign_in(base_url: str, email: str, password: str) -> str:
    body = {"email": email, "password": password}
    response = httpx.post(f"{base_url}{API}/auth/login", json=body, timeout=30)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def seed(base_url: str, email: str, password: str, aws_endpoint: str) -> Objects:
    """Objects of every kind in the superadmin `email`'s organization, with the parameters
    that address them, per operation."""
    token = sign_in(base_url, email, password)
    sign_in(base_url, email, password)  # a second session, for DELETE /auth/sessions/{id}
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=60) as http:
        s = _Seeder(http)
        monitor = s.monitor("Seeded site")
        heartbeat = s.monitor("Seeded job", type="heartbeat", url=None)
        now = datetime.now(UTC)
        window = s.post(
            f"/monitors/{monitor['id']}/maintenance",
            {"starts_at": (now + timedelta(days=1)).isoformat(),
             "ends_at": (now + timedelta(days=2)).isoformat(), "reason": "seeded"},
        )  # fmt: skip
        incident = s.incident("Seeded incident")
        sessions = [row for row in s.get("/auth/sessions") if not row.get("current")]
        key = s.post("/auth/api-keys", {"name": "seeded"})["id"]
        ssh_key = s.post("/users/me/ssh-keys", {"public_key": SEEDED_SSH_KEY})["id"]
        ec2 = boto3.client("ec2", endpoint_url=aws_endpoint, region_name="us-east-1")
        ec2.run_instances(ImageId=MOTO_AMI, MinCount=1, MaxCount=1, InstanceType="t3.micro")
        account = s.account("Seeded account")
        job = s.post(f"/cloud-accounts/{account}/discover", expect=202)["job_id"]
        s.wait_for_job(job)
        resource = s.get("/resources")["items"][0]["id"]
        audit = s.get("/audit-logs")["items"][0]["id"]
        member = s.member("seeded.member@example.com", password)
        channel = s.channel("Seeded channel")
        s.incident("Seeded for the inbox")  # two inbox lines: one to keep, one to delete
        inbox = [line["id"] for line in s.get("/notifications")["items"]]
        agent = s.agent("Seeded host")
        pages = s.status_pages(monitor["id"])
        # Invoices come from Stripe's events only; the test writes one before seeding.
        invoice = s.get("/billing/invoices")["items"][0]["id"]
        ids = {
            "/auth/sessions/{id}": sessions[0]["id"],
            "/auth/api-keys/{id}": key,
            "/users/me/ssh-keys/{id}": ssh_key,
            "/users/invitations/{id}": s.invitation("seeded.invite@example.com"),
            "/users/invitations/{id}/resend": s.invitation("seeded.resend@example.com"),
            "/users/{id}": member,
            "/users/{id}/avatar": member,
            "/audit-logs/{id}": audit,
            "/incidents/{id}": incident,
            "/monitors/{id}": monitor["id"],
            "/monitors/{id}/maintenance/{window_id}": monitor["id"],
            "/cloud-accounts/{id}": account,
            "/jobs/{id}": job,
            "/resources/{id}": resource,
            "/budgets/{id}": s.budget("Seeded budget"),
            "/notifications/channels/{id}": channel,
            "/notifications/rules/{id}": s.rule("Seeded rule", channel),
            "/notifications/{id}": inbox[0],
            "/alert-rules/{id}": s.alert_rule("Seeded alert rule"),
            "/agents/{id}": agent,
            "/metrics/agents/{id}": agent,
            "/status-pages/clients/{id}": pages["client"],
            "/status-pages/announcements/{id}": pages["announcement"],
            "/status-pages/subscribers/{id}": pages["subscriber"],
            # Answered 403 to the seeded superadmin, who is no platform admin (below).
            "/admin/organizations/{id}": s.get("/organization")["id"],
            "/admin/plans/{id}": 1,
            "/billing/invoices/{id}": invoice,
        }
        metric_rule = s.metric_rule("Seeded metric rule")
        for path in ("/overrides", "/overrides/{agent_id}", "/backtest"):
            ids["/alert-rules/{id}" + path] = metric_rule
        # An operation that deletes takes an object of its own; the others share one.
        deleted = {
            "/users/{id}": s.member("seeded.deleted@example.com", password),
            "/incidents/{id}": s.incident("Seeded for deletion"),
            "/monitors/{id}": s.monitor("Seeded for deletion")["id"],
            "/cloud-accounts/{id}": s.account("Seeded for deletion"),
            "/budgets/{id}": s.budget("Seeded for deletion"),
            "/notifications/channels/{id}": s.channel("Seeded for deletion"),
            "/notifications/rules/{id}": s.rule("Seeded for deletion", channel),
            "/notifications/{id}": inbox[1],
            "/alert-rules/{id}": s.alert_rule("Seeded for deletion"),
            "/agents/{id}": s.agent("Seeded for deletion"),
            "/status-pages/clients/{id}": pages["deleted_client"],
            "/status-pages/announcements/{id}": pages["deleted_announcement"],
            "/status-pages/subscribers/{id}": pages["deleted_subscriber"],
        }
        spec = http.get("/openapi.json").json()
    objects = Objects(token=token)
    for path, item in spec["paths"].items():
        relative = path.removeprefix(API)
        for method in item:
            params: dict[str, Any] = {}
            if "{id}" in relative:
                family = next((p for p in ids if relative.startswith(p.split("{id}")[0] + "{id}")),
                              None)  # fmt: skip
                exact = ids.get(relative)
                params["id"] = exact if exact is not None else ids[family] if family else None
                if method == "delete" and relative in deleted:
                    params["id"] = deleted[relative]
            if "{window_id}" in relative:
                params["window_id"] = window["id"]
            if "{agent_id}" in relative:
                params["agent_id"] = agent
            if "{org_slug}" in relative:
                params["org_slug"] = pages["org_slug"]
            if "{client_slug}" in relative:
                params["client_slug"] = pages["client_slug"]
            if "{name}" in relative:
                params["name"] = "web"
            if "{token}" in relative:
                params["token"] = heartbeat["heartbeat_url"].rsplit("/", 1)[-1]
            if params:
                assert None not in params.values(), f"no object for {method} {path}"
                objects.parameters[(method.upper(), path)] = params
    return objects


# Operations whose schema-valid requests the server may still refuse with a 400, for what no
# schema can know: whether a token or code is live, a password right, a time still ahead,
# or how two fields relate (a dns monitor needs a host; a range spans at most 731 days).
# Each rule is in the operation's description or the field's; positive_data_acceptance
# takes 400 there as the documented answer, and every other check stays as it is.
_ALERT_RULE_NEEDS = (
    "a trigger type it takes; metric fields on metric rules and only there; this "
    "organization's monitor, agent and channel ids"
)
_RULE_NEEDS = "channel ids of this organization; both escalation fields or neither"
_PAGE_NEEDS = "monitor ids of this organization; a slug free and not reserved"
_PUBLIC_NEEDS = "the page enabled, and its token when it requires one"
# The run signs in as an organization's superadmin who is no platform admin: every /admin
# operation answers 403 (documented), which keeps the fuzzer from suspending the seeded
# organization or rewriting the limits of its plan under the other operations. What a
# platform admin is answered is tested in tests/server/test_admin.py.
_PLATFORM_ADMIN = "a platform admin's token (the run's superadmin is none: 403)"
_BILLING_ON = "billing on (a Stripe key) and "
KNOWN_ONLY_TO_THE_SERVER = {
    ("POST", "/auth/email/confirm"): "a live confirmation token",
    ("POST", "/auth/password/reset"): "a live reset token",
    ("POST", "/auth/password/change"): "the right current password",
    ("POST", "/auth/mfa/enable"): "a code from the authenticator just set up",
    ("POST", "/auth/mfa/disable"): "a code of the enabled authenticator",
    ("POST", "/auth/mfa/backup-codes"): "a code of the enabled authenticator",
    ("POST", "/auth/api-keys"): "expires_at after now",
    ("POST", "/users/invitations/accept"): "a live invitation token",
    ("PATCH", "/users/me"): "the right current_password with a new email",
    ("PUT", "/users/me/avatar"): "the bytes of a PNG, JPEG or WebP image",
    ("PUT", "/organization/logo"): "the bytes of a PNG, JPEG, WebP or SVG image",
    ("POST", "/monitors"): "the fields its type needs; a target the outbound policy allows",
    ("PATCH", "/monitors/{id}"): "the fields its type needs; a target the outbound policy allows",
    ("POST", "/monitors/{id}/maintenance"): "ends_at after starts_at, or a recurrence",
    ("GET", "/costs/by-service"): "start on or before end, at most 731 days apart",
    ("GET", "/costs/by-account"): "start on or before end, at most 731 days apart",
    ("GET", "/costs/daily"): "start on or before end, at most 731 days apart",
    ("POST", "/notifications/channels"): "a config its type accepts (docs/channels.md)",
    ("PATCH", "/notifications/channels/{id}"): "a config the channel's type accepts",
    ("POST", "/alert-rules"): _ALERT_RULE_NEEDS,
    ("POST", "/alert-rules/{id}/backtest"): "to after from, at most 400 days apart",
    ("POST", "/agents/ingest"): "an agent's token, not a member's; samples not ahead of now",
    ("PATCH", "/alert-rules/{id}"): _ALERT_RULE_NEEDS,
    ("POST", "/notifications/rules"): _RULE_NEEDS,
    ("PATCH", "/notifications/rules/{id}"): _RULE_NEEDS,
    ("PUT", "/status-pages/global"): _PAGE_NEEDS,
    ("POST", "/status-pages/clients"): _PAGE_NEEDS,
    ("PATCH", "/status-pages/clients/{id}"): _PAGE_NEEDS,
    ("POST", "/status-pages/announcements"): "page: global or a client page's slug",
    ("GET", "/status-pages/subscribers"): "status_page: global or a client page's slug",
    ("GET", "/public/status/{org_slug}"): _PUBLIC_NEEDS,
    ("GET", "/public/status/{org_slug}/{client_slug}"): _PUBLIC_NEEDS,
    ("POST", "/public/status/{org_slug}/subscribe"): _PUBLIC_NEEDS,
    ("POST", "/public/status/{org_slug}/{client_slug}/subscribe"): _PUBLIC_NEEDS,
    **{
        (route.method, route.path): _PLATFORM_ADMIN
        for route in ROUTES
        if route.access is Access.platform_admin
    },
    ("POST", "/billing/checkout"): _BILLING_ON + "a price set for a plan for sale, not free, "
    "and no subscription already",
    ("POST", "/billing/portal"): _BILLING_ON + "the organization subscribed once",
    ("POST", "/billing/subscription/cancel"): _BILLING_ON + "an active subscription not "
    "set to cancel",
    ("POST", "/billing/subscription/resume"): _BILLING_ON + "an active subscription set to cancel",
    ("POST", "/billing/webhook"): "a webhook secret, and a payload Stripe signed with it",
}
_ACCEPTED = ["2xx", 400, 401, 403, 404, 409, 429]


def config(
    base_url: str, objects: Objects, *, max_examples: int, seed: int, stateful: bool
) -> dict[str, Any]:
    """Every check, the superadmin's bearer token; either the stateless phases (examples,
    coverage, fuzzing) with each operation's object ids, or the stateful phase alone, where
    ids come from the responses that link one operation to the next (fixed ids there would
    replace them)."""
    operations: dict[tuple[str, str], dict[str, Any]] = {}
    if not stateful:
        for (method, path), params in objects.parameters.items():
            parameters = {f"path.{name}": value for name, value in params.items()}
            operations[method, path] = {"parameters": parameters}
    for method, path in KNOWN_ONLY_TO_THE_SERVER:
        accepting = {"positive_data_acceptance": {"expected-statuses": _ACCEPTED}}
        operations.setdefault((method, API + path), {})["checks"] = accepting
    phases = {name: {"enabled": not stateful} for name in ("examples", "coverage", "fuzzing")}
    # A stateful scenario is a chain of up to 6 linked calls (create, read, change, delete);
    # max_examples counts scenarios there, so it gets twenty times the budget of the others.
    phases["stateful"] = {"enabled": stateful, "generation": {"max-examples": max_examples * 20}}
    return {
        "base-url": base_url,
        "seed": seed,
        "headers": {"Authorization": f"Bearer {objects.token}"},
        "checks": {"enabled": True},
        "phases": phases,
        "generation": {"max-examples": max_examples, "mode": "all"},
        "workers": 1,
        # Some operations reach a cloud provider (moto's server here); on a busy machine one
        # answer took over schemathesis's default of 10 s.
        "request-timeout": 60,
        "operations": [
            {"include-path": path, "include-method": method, **settings}
            for (method, path), settings in operations.items()
        ],
    }


@dataclass
class Outcome:
    operations: int = 0
    cases: int = 0
    server_errors: int = 0
    failures: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    pass_seconds: list[float] = field(default_factory=list)
    by_check: Counter[str] = field(default_factory=Counter)


def run(base_url: str, passes: list[dict[str, Any]]) -> Outcome:
    """Runs schemathesis's engine as its CLI does, once per configuration in `passes`, and
    sums what it found."""
    started = time.monotonic()
    statistic = Statistic()
    outcome = Outcome()
    for settings in passes:
        pass_started = time.monotonic()
        loaded = schemathesis.Config.from_dict(settings)
        schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json", config=loaded)
        outcome.operations = max(outcome.operations, len(list(schema.get_all_operations())))
        for event in schemathesis.engine.from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                statistic.on_scenario_finished(event.recorder)
                outcome.server_errors += sum(
                    1
                    for interaction in event.recorder.interactions.values()
                    if interaction.response is not None and interaction.response.status_code >= 500
                )
            elif isinstance(event, events.NonFatalError):
                outcome.errors.append(f"{event.label}: {event.info.format()}")
            elif isinstance(event, events.FatalError):
                outcome.errors.append(f"fatal: {event.exception!r}")
        outcome.pass_seconds.append(time.monotonic() - pass_started)
    outcome.cases = statistic.total_cases
    for label, groups in statistic.failures.items():
        for group in groups.values():
            for failure in group.failures:
                outcome.by_check[type(failure).__name__] += 1
                answer = group.response
                said = f" -> {answer.status_code} {answer.text[:200]}" if answer else ""
                outcome.failures.append(
                    f"{label}: {failure.title}: {failure.message[:300]}{said}\n"
                    f"    {group.code_sample}"
                )
    outcome.seconds = time.monotonic() - started
    return outcome
