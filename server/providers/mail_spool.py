"""Mail kept on disk when no SMTP server is configured, for `upmetr mail list|show`.

A self-hosted install without SMTP still needs its reset links, magic links and
invitations. They are secrets (a magic link signs its holder in), so they never go to the
log: each message is a file of its own (RFC 5322, what any mail tool reads) in
`<data dir>/mail`, the folder 0700 and the files 0600, so only the server's user reads them.
The spool keeps the newest `KEEP` messages.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

KEEP = 500
SUFFIX = ".eml"
# What `put` names a message: its time to the microsecond, then 6 random hex digits.
_MAIL_ID = re.compile(r"\d{8}T\d{12}-[0-9a-f]{6}")


@dataclass(frozen=True)
class SpooledMail:
    id: str
    to: str
    subject: str
    created_at: datetime


class MailSpool:
    def __init__(self, data_dir: Path):
        self.directory = data_dir / "mail"

    def put(self, message: EmailMessage) -> str:
        """Keep `message`; its id. Blocking file I/O: call it in a thread from async code."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)  # mkdir's mode is masked by the umask
        # Ids sort by time, so listing needs no parsing and pruning drops the oldest.
        mail_id = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{secrets.token_hex(3)}"
        # Written under a name `ids` does not list, then renamed (atomic, rename(2)): a
        # reader never finds the message half written (a test once read one empty).
        writing = self.directory / f".{mail_id}{SUFFIX}.part"
        descriptor = os.open(writing, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(message.as_bytes(policy=message.policy.clone(linesep="\r\n")))
        os.rename(writing, self.directory / f"{mail_id}{SUFFIX}")
        self._prune()
        return mail_id

    def ids(self) -> list[str]:
        """The kept messages' ids, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(path.stem for path in self.directory.glob(f"*{SUFFIX}"))

    def read(self, mail_id: str) -> EmailMessage | None:
        """The message of `mail_id`, or None when there is none (or the id is not one)."""
        if not _MAIL_ID.fullmatch(mail_id):  # a crafted id never reaches the file system
            return None
        try:
            raw = (self.directory / f"{mail_id}{SUFFIX}").read_bytes()
        except FileNotFoundError:
            return None
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message

    def list(self) -> list[SpooledMail]:
        """Every kept message, newest first."""
        found = []
        for mail_id in reversed(self.ids()):
            message = self.read(mail_id)
            if message is None:  # pruned while listing
                continue
            created = datetime.strptime(mail_id.split("-")[0], "%Y%m%dT%H%M%S%f")
            found.append(
                SpooledMail(
                    id=mail_id,
                    to=str(message["To"]),
                    subject=str(message["Subject"]),
                    created_at=created.replace(tzinfo=UTC),
                )
            )
        return found

    def _prune(self) -> None:
        for mail_id in self.ids()[:-KEEP]:
            (self.directory / f"{mail_id}{SUFFIX}").unlink(missing_ok=True)
