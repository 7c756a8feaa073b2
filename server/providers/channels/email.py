"""Email: text and HTML (multipart/alternative) through the server's SMTP settings, or,
without SMTP, into the server's mail spool (server/providers/mail_spool.py), as the
server's own mail goes.

The Message-ID is built from the delivery's idempotency id, so a retried delivery is the
same message to a mail client that drops duplicates. A refused recipient or a refused
login (5xx) is permanent; a 4xx answer, a timeout or a lost connection is temporary.
"""

from __future__ import annotations

import asyncio
import html
import re
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib
from pydantic import EmailStr, Field

from server.providers.channels.base import (
    Channel,
    ChannelConfig,
    ChannelEnv,
    DeliveryError,
    Notice,
    Sent,
    config_of,
)
from server.providers.channels.render import (
    SEVERITY_COLOURS,
    details,
    iso_z,
    plain_text,
    subject,
)
from server.providers.mail_spool import MailSpool

DEFAULT_FROM = "Upmetr <noreply@upmetr.local>"
LONG_LINES = policy.default.clone(max_line_length=998)
_NOT_IN_MESSAGE_ID = re.compile(r"[^A-Za-z0-9._~-]")


class EmailConfig(ChannelConfig):
    to: list[EmailStr] = Field(min_length=1, max_length=20)


def message_id(notice: Notice, sender: str) -> str:
    """`<idempotency id@sender's domain>` (RFC 5322, 3.6.4): the same on every attempt."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "upmetr.local"
    return f"<{_NOT_IN_MESSAGE_ID.sub('-', notice.idempotency_id)}@{domain}>"


def html_body(notice: Notice) -> str:
    colour = f"#{SEVERITY_COLOURS[notice.severity]:06x}"
    rows = "".join(
        f'<tr><td style="padding:2px 12px 2px 0;color:#555">{html.escape(name)}</td>'
        f"<td>{html.escape(value)}</td></tr>"
        for name, value in [*details(notice), ("Time", iso_z(notice.occurred_at))]
    )
    link = ""
    if notice.url:
        link = f'<p><a href="{html.escape(notice.url, quote=True)}">Open in Upmetr</a></p>'
    return (
        '<!doctype html><html><body style="font-family:sans-serif">'
        f'<h2 style="border-left:6px solid {colour};padding-left:8px">'
        f"{html.escape(subject(notice))}</h2>"
        f"<p>{html.escape(notice.text)}</p><table>{rows}</table>{link}</body></html>"
    )


def build_message(notice: Notice, to: list[str], sender: str) -> EmailMessage:
    # An unsubscribe link is one long word: folded at 78 columns it would be turned into
    # encoded words that mail clients do not read as a URL. RFC 5322 allows 998.
    message = EmailMessage(policy=LONG_LINES if notice.unsubscribe_url else policy.default)
    message["From"] = sender
    message["To"] = [Address(addr_spec=address) for address in to]
    message["Subject"] = subject(notice)
    message["Date"] = format_datetime(notice.occurred_at)
    message["Message-ID"] = message_id(notice, sender)
    text, body = plain_text(notice), html_body(notice)
    if notice.unsubscribe_url:
        # RFC 2369 and RFC 8058: mail clients offer "unsubscribe", done with one POST.
        message["List-Unsubscribe"] = f"<{notice.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        text += f"\n\nUnsubscribe: {notice.unsubscribe_url}\n"
        link = html.escape(notice.unsubscribe_url, quote=True)
        body = body.replace(
            "</body>", f'<p style="font-size:12px"><a href="{link}">Unsubscribe</a></p></body>'
        )
    message.set_content(text)
    message.add_alternative(body, subtype="html")
    return message


class EmailChannel(Channel):
    """SMTP to the server's own mail server: the administrator's setting, not a tenant's
    target, so the outbound policy does not apply to it (nor to the spool)."""

    type = "email"
    Config = EmailConfig

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, EmailConfig)
        smtp = env.smtp
        message = build_message(notice, list(settings.to), smtp.get("from") or DEFAULT_FROM)
        if not smtp.get("host"):
            if env.data_dir is None:
                raise DeliveryError("SMTP is not configured, nor a mail spool", permanent=False)
            mail_id = await asyncio.to_thread(MailSpool(env.data_dir).put, message)
            return Sent(None, f"SMTP is not configured; kept in the mail spool as {mail_id}")
        tls = smtp.get("tls", "starttls")
        try:
            # Flattened here with the message's own policy: aiosmtplib's would fold the
            # unsubscribe link at 78 columns (see build_message).
            refused, answer = await aiosmtplib.send(
                message.as_bytes(policy=message.policy.clone(linesep="\r\n")),
                sender=parseaddr(message["From"])[1],
                recipients=list(settings.to),
                hostname=smtp["host"],
                port=smtp.get("port"),
                username=smtp.get("user"),
                password=smtp.get("password"),
                use_tls=tls == "ssl",
                start_tls=tls == "starttls",
                timeout=env.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            who = "; ".join(f"{error.recipient} ({error.code})" for error in exc.recipients)
            # 5xx is final (RFC 5321, 4.2.1); a 4xx (a full mailbox, greylisting) may pass later.
            final = all(error.code >= 500 for error in exc.recipients)
            raise DeliveryError(f"recipient refused: {who}", permanent=final) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"the SMTP server answered {exc.code}: {exc.message}",
                permanent=exc.code >= 500,
            ) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP delivery failed: {exc}", permanent=False) from None
        detail = f"accepted by {smtp['host']}: {answer}"
        if refused:
            detail += f"; refused: {', '.join(sorted(refused))}"
        return Sent(None, detail)
