"""Outgoing email: real SMTP when configured, else the message goes to the server log.

Without SMTP a self-hosted user can still finish a password reset, magic link or
invitation by copying the link from the log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from server.config import Settings

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


class SmtpMailer:
    def __init__(self, settings: Settings):
        self._settings = settings

    async def send(self, email: Email) -> None:
        settings = self._settings
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = email.to
        message["Subject"] = email.subject
        message.set_content(email.text)
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


class LogMailer:
    async def send(self, email: Email) -> None:
        log.warning(
            "SMTP is not configured; email to %s not sent. Subject: %s\n%s",
            email.to,
            email.subject,
            email.text,
        )


def mailer_for(settings: Settings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()
