"""Twilio: an SMS per number through the Messages API
(https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource).

POST `/2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded `To`, `From`, `Body`,
with HTTP basic auth (the account SID and auth token). Twilio answers 201 with the message;
a 400 (code 21211: not a valid number, 21610: the recipient unsubscribed) or 401 is
permanent, 429 and 5xx temporary.
"""

from __future__ import annotations

from typing import Annotated

import aiohttp
from pydantic import Field

from server.providers.channels.base import (
    ChannelConfig,
    ChannelEnv,
    DeliveryError,
    Notice,
    Sent,
    config_of,
)
from server.providers.channels.http import HttpChannel
from server.providers.channels.render import subject

DEFAULT_URL = "https://api.twilio.com"
# Two SMS segments of GSM-7 text (153 characters each, concatenated) cost two messages:
# an alert stays within 320 characters and links to the rest.
BODY_MAX = 320
E164 = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")]


class TwilioConfig(ChannelConfig):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: str = Field(min_length=16, max_length=128)
    from_number: E164
    to_numbers: list[E164] = Field(min_length=1, max_length=10)


def sms_text(notice: Notice) -> str:
    tail = f"\n{notice.url}" if notice.url else ""
    text = f"{subject(notice)}\n{notice.text}"
    room = BODY_MAX - len(tail)
    if len(text) > room:
        text = text[: room - 1] + "…"
    return text + tail


class TwilioChannel(HttpChannel):
    type = "twilio"
    vendor = "Twilio"
    Config = TwilioConfig
    SECRETS = frozenset({"auth_token"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        """One message per number, each tried even when another fails.

        A failure for any number fails the delivery (permanent only when every failure
        is), so a retry may text again a number that already had it: Twilio has no
        idempotency key for messages.
        """
        settings = config_of(config, TwilioConfig)
        base = env.base_url("twilio", DEFAULT_URL)
        url = f"{base}/2010-04-01/Accounts/{settings.account_sid}/Messages.json"
        auth = aiohttp.encode_basic_auth(settings.account_sid, settings.auth_token)
        body = sms_text(notice)
        sent: list[str] = []
        status = 201
        failed: dict[str, DeliveryError] = {}
        for number in settings.to_numbers:
            form = {"To": number, "From": settings.from_number, "Body": body}
            try:
                reply = await self.post(env, url, data=form, headers={"Authorization": auth})
            except DeliveryError as exc:
                if exc.status_code is None and exc.permanent:  # a refused target: all are
                    raise
                failed[number] = exc
            else:
                answer = reply.json()
                sid = answer.get("sid") if isinstance(answer, dict) else None
                sent.append(f"{number}: {sid or 'sent'}")
                status = reply.status
        if failed:
            errors = list(failed.values())
            outcome = sent + [f"{number}: {error.message}" for number, error in failed.items()]
            retry = [e.retry_after_seconds for e in errors if e.retry_after_seconds is not None]
            raise DeliveryError(
                "; ".join(outcome),
                permanent=all(error.permanent for error in errors),
                status_code=errors[0].status_code,
                retry_after_seconds=max(retry, default=None),
            )
        return Sent(status, "; ".join(sent))
