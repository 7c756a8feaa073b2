"""Outgoing email: real SMTP when configured, else the message is kept in the mail spool.

Without SMTP a self-hosted user can still finish a password reset, magic link or
invitation: `upmetr mail show` prints the message from the spool (server/providers/mail_spool.py).
The log says only that a message was kept and for whom, never its text.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Protocol

import aiosmtplib

from server.config import Settings
from server.providers.mail_spool import MailSpool

log = logging.getLogger("upmetr.email")


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    async def send(self, email: Email) -> None: ...


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def message_of(email: Email, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    message["Date"] = formatdate(usegmt=True)
    message.set_content(email.text)
    return message


class SmtpMailer:
    def __init__(self, settings: Settings):
        self._settings = settings

    async def send(self, email: Email) -> None:
        settings = self._settings
        message = message_of(email, settings.smtp_from)
        try:
            await aiosmtplib.send(
                message,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_user,
                password=settings.smtp_password,
                use_tls=settings.smtp_tls == "ssl",
                start_tls=settings.smtp_tls == "starttls",
                timeout=settings.smtp_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {email.to}", permanent=True) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"SMTP delivery failed: {exc}", permanent=False) from exc


class SpoolMailer:
    def __init__(self, settings: Settings):
        self._spool = MailSpool(settings.data_dir)
        self._sender = settings.smtp_from

    async def send(self, email: Email) -> None:
        message = message_of(email, self._sender)
        mail_id = await asyncio.to_thread(self._spool.put, message)
        log.info(
            "SMTP is not configured; the mail to %s is kept: upmetr mail show %s", email.to, mail_id
        )


def mailer_for(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else SpoolMailer(settings)
