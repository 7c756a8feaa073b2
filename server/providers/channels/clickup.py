"""ClickUp: a task in a list (https://developer.clickup.com/reference/createtask).

POST `/api/v2/list/{list_id}/task` with the personal API token as `Authorization`; ClickUp
answers 200 with the task. A 401 (`{"err": "Token invalid", "ECODE": "OAUTH_025"}`) or a
404 list is permanent.
"""

from __future__ import annotations

from pydantic import Field

from server.providers.channels.base import (
    ChannelConfig,
    ChannelEnv,
    Notice,
    Sent,
    Severity,
    config_of,
)
from server.providers.channels.http import HttpChannel
from server.providers.channels.render import details, iso_z, subject

DEFAULT_URL = "https://api.clickup.com"
# ClickUp's priorities: 1 urgent, 2 high, 3 normal, 4 low.
PRIORITIES: dict[Severity, int] = {"critical": 1, "error": 2, "warning": 3, "info": 4}


class ClickUpConfig(ChannelConfig):
    api_token: str = Field(min_length=8, max_length=200, pattern=r"^[!-~]+$")
    list_id: str = Field(pattern=r"^\d{1,30}$")


def markdown(notice: Notice) -> str:
    lines = [notice.text, ""]
    lines.extend(f"- **{name}:** {value}" for name, value in details(notice))
    lines.append(f"- **Time:** {iso_z(notice.occurred_at)}")
    if notice.url:
        lines.extend(["", f"[Open in Upmetr]({notice.url})"])
    return "\n".join(lines)


class ClickUpChannel(HttpChannel):
    type = "clickup"
    vendor = "ClickUp"
    Config = ClickUpConfig
    SECRETS = frozenset({"api_token"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, ClickUpConfig)
        url = f"{env.base_url('clickup', DEFAULT_URL)}/api/v2/list/{settings.list_id}/task"
        task = {
            "name": subject(notice),
            "markdown_description": markdown(notice),
            "priority": PRIORITIES[notice.severity],
            "tags": ["upmetr", notice.event_type.split(".")[0]],
        }
        reply = await self.post(env, url, json=task, headers={"Authorization": settings.api_token})
        answer = reply.json()
        task_id = answer.get("id") if isinstance(answer, dict) else None
        return Sent(reply.status, f"task {task_id}" if task_id else None)
