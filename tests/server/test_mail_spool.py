"""Without SMTP, mail is kept in a spool only the server's user can read, never in the log;
`upmetr mail list|show` reads it. No secret of a whole session reaches any log line."""

from __future__ import annotations

import asyncio
import json
import logging
import stat
import threading
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient

from server.config import Settings
from server.providers.mail_spool import MailSpool
from tests.conftest import World
from tests.console.cli_harness import run
from tests.mail import kept_mail, link_token

API = "/api/v1"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_reset_link_is_kept_in_a_private_spool_and_read_with_upmetr_mail(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    response = await client.post(f"{API}/auth/password/forgot", json={"email": world.bob.email})
    assert response.status == 202
    (mail_id,) = await kept_mail(settings.data_dir)
    token = link_token(settings.data_dir, mail_id, "reset-password")

    spool = settings.data_dir / "mail"
    assert mode_of(spool) == 0o700
    assert [mode_of(path) for path in spool.iterdir()] == [0o600]
    # The mailer logs once the spool's thread has written the file, a moment after it shows.
    kept = f"mail to {world.bob.email} is kept: upmetr mail show {mail_id}"
    for _ in range(100):
        if kept in caplog.text:
            break
        await asyncio.sleep(0.02)
    assert kept in caplog.text
    assert token not in caplog.text

    data_dir = ["--data-dir", str(settings.data_dir)]
    listed = run(tmp_path, "mail", "list", "--json", *data_dir)
    assert listed.exit_code == 0, listed.output
    (entry,) = json.loads(listed.output)
    assert (entry["id"], entry["to"]) == (mail_id, world.bob.email)
    assert "password" in entry["subject"].lower()
    shown = run(tmp_path, "mail", "show", *data_dir)  # the newest by default
    assert shown.exit_code == 0, shown.output
    assert f"To: {world.bob.email}" in shown.output and token in shown.output
    missing = run(tmp_path, "mail", "show", "../upmetr", *data_dir)
    assert missing.exit_code == 1 and "No kept mail ../upmetr" in missing.output


async def test_no_secret_of_a_session_reaches_the_log(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = [world.alice.password, world.alice.access_token, world.alice.refresh_token]
    login = await client.post(
        f"{API}/auth/login", json={"email": world.bob.email, "password": world.bob.password}
    )
    secrets += [value for value in (await login.json()).values() if isinstance(value, str)]
    await client.post(f"{API}/auth/login", json={"email": world.bob.email, "password": "Wrong-1#x"})
    created = await client.post(
        f"{API}/auth/api-keys", json={"name": "ci", "role": "viewer"}, headers=world.alice.headers
    )
    assert created.status == 201, await created.text()
    secrets.append((await created.json())["key"])
    await client.post(f"{API}/auth/magic-link", json={"email": world.alice.email})
    await kept_mail(settings.data_dir, count=1)  # mail goes out after the answer: keep order
    await client.post(f"{API}/auth/password/forgot", json={"email": world.alice.email})
    first, second = await kept_mail(settings.data_dir, count=2)
    secrets.append(link_token(settings.data_dir, first, "magic-link"))
    secrets.append(link_token(settings.data_dir, second, "reset-password"))
    await client.post(
        f"{API}/cloud-accounts",
        json={
            "name": "prod",
            "provider": "aws",
            "credentials": {
                "access_key_id": "AKIAEXAMPLEKEY123456",
                "secret_access_key": "never-logged-secret-access-key-0123456789",
            },
        },
        headers=world.alice.headers,
    )
    secrets.append("never-logged-secret-access-key-0123456789")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged  # the session did log (access lines, the kept mail)
    leaked = [secret for secret in secrets if secret and secret in logged]
    assert leaked == []


def test_a_message_is_listed_only_once_it_is_whole(tmp_path: Path) -> None:
    spool = MailSpool(tmp_path)
    message = EmailMessage()
    message["To"], message["Subject"] = "alice@example.com", "big"
    message.set_content("x" * 2_000_000)
    done = threading.Event()

    def write() -> None:
        spool.put(message)
        done.set()

    seen: list[int] = []
    writer = threading.Thread(target=write)
    writer.start()
    while not done.is_set() or not seen:
        for mail_id in spool.ids():
            found = spool.read(mail_id)
            assert found is not None
            seen.append(len(found.get_body(("plain",)).get_content()))  # type: ignore[union-attr]
    writer.join()
    (mail_id,) = spool.ids()
    whole = spool.read(mail_id).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert set(seen) == {len(whole)}  # never a part of it
