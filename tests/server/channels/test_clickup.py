"""ClickUp: a task in a list, priority from severity, the token as Authorization."""

from __future__ import annotations

import pytest

from server.providers.channels import Channels, DeliveryError
from tests.server.channels.receivers import CLICKUP_TOKEN, Receiver, config_for, make_notice


async def test_clickup_creates_a_task_in_the_list(channels: Channels, receiver: Receiver) -> None:
    receiver.answer(200, json={"id": "86abc", "url": "https://app.clickup.com/t/86abc"})
    sent = await channels.send("clickup", make_notice(), config_for("clickup", receiver))
    assert sent.status_code == 200 and sent.detail == "task 86abc"
    request = receiver.last
    assert request.method == "POST"
    assert request.path == "/api/v2/list/901234/task"
    assert request.headers["Authorization"] == CLICKUP_TOKEN
    task = request.json()
    assert task["name"] == "[Critical] api.example.com is down"
    assert task["priority"] == 1
    assert task["tags"] == ["upmetr", "incident"]
    assert "- **Monitor:** api" in task["markdown_description"]
    assert "[Open in Upmetr](https://upmetr.example/incidents/42)" in task["markdown_description"]


@pytest.mark.parametrize(
    ("severity", "priority"), [("critical", 1), ("error", 2), ("warning", 3), ("info", 4)]
)
async def test_clickup_priority_follows_severity(
    severity: str, priority: int, channels: Channels, receiver: Receiver
) -> None:
    receiver.answer(200, json={"id": "1"})
    await channels.send("clickup", make_notice(severity=severity), config_for("clickup", receiver))
    assert receiver.last.json()["priority"] == priority


async def test_clickup_invalid_token_is_permanent(channels: Channels, receiver: Receiver) -> None:
    receiver.answer(401, json={"err": "Token invalid", "ECODE": "OAUTH_025"})
    with pytest.raises(DeliveryError) as raised:
        await channels.send("clickup", make_notice(), config_for("clickup", receiver))
    assert raised.value.permanent
    assert raised.value.message == "ClickUp at 127.0.0.1 answered 401: Token invalid"
