"""PagerDuty: the Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/overview).

One `dedup_key` (the notice's) carries an incident through trigger, acknowledge and resolve,
so acknowledging in Upmetr acknowledges in PagerDuty. PagerDuty answers 202; a 400 is an
event it will never take (a bad routing key is refused with it too); 429 and 5xx are worth
another try (the Events API's "Responses").
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from server.providers.channels.base import ChannelConfig, ChannelEnv, Notice, Sent, config_of
from server.providers.channels.http import HttpChannel
from server.providers.channels.render import iso_z, subject

DEFAULT_URL = "https://events.pagerduty.com"
SUMMARY_MAX = 1024  # the Events API's limit on payload.summary
Action = Literal["trigger", "acknowledge", "resolve"]
ACTIONS: dict[str, Action] = {
    "incident.acknowledged": "acknowledge",
    "incident.resolved": "resolve",
}  # incident.opened, incident.escalated and every other event trigger


class PagerDutyConfig(ChannelConfig):
    # A service's Events API v2 integration key.
    routing_key: str = Field(pattern=r"^[A-Za-z0-9]{32}$")


def event(notice: Notice, routing_key: str) -> dict[str, Any]:
    action = ACTIONS.get(notice.event_type, "trigger")
    document: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": notice.dedup_key,
    }
    if action != "trigger":  # acknowledge and resolve carry nothing more
        return document
    document["payload"] = {
        "summary": subject(notice)[:SUMMARY_MAX],
        "source": notice.facts.get("Target") or notice.facts.get("Monitor") or notice.org_name,
        "severity": notice.severity,  # the same four words as PagerDuty's
        "timestamp": iso_z(notice.occurred_at),
        "component": notice.facts.get("Monitor"),
        "group": notice.org_name,
        "class": notice.event_type,
        "custom_details": {"text": notice.text, "status": notice.status, **notice.facts},
    }
    document["client"] = "Upmetr"
    if notice.url:
        document["client_url"] = notice.url
        document["links"] = [{"href": notice.url, "text": "Open in Upmetr"}]
    return document


class PagerDutyChannel(HttpChannel):
    type = "pagerduty"
    vendor = "PagerDuty"
    Config = PagerDutyConfig
    SECRETS = frozenset({"routing_key"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, PagerDutyConfig)
        url = env.base_url("pagerduty", DEFAULT_URL) + "/v2/enqueue"
        reply = await self.post(env, url, json=event(notice, settings.routing_key))
        answer = reply.json()
        message = answer.get("message") if isinstance(answer, dict) else None
        return Sent(reply.status, message)
