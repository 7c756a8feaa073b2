"""Own profile and avatar: edits, email conflicts, uploads typed by content and capped."""

from __future__ import annotations

import struct
import zlib

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from tests.builders import PASSWORD
from tests.conftest import World

ME = "/api/v1/users/me"
AVATAR = "/api/v1/users/me/avatar"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiny_png() -> bytes:
    """A valid 1x1 RGBA PNG (signature, IHDR, IDAT, IEND)."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


def tiny_jpeg() -> bytes:
    """SOI, a JFIF APP0 segment and EOI: enough for a content sniffer."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def tiny_webp() -> bytes:
    """A RIFF container holding a VP8L (lossless) 1x1 bitstream header."""
    vp8l = b"\x2f\x00\x00\x00\x00\x88\x88\x08"
    chunk = b"VP8L" + struct.pack("<I", len(vp8l)) + vp8l
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def upload(data: bytes, filename: str = "avatar.png", content_type: str = "image/png") -> FormData:
    form = FormData()
    form.add_field("file", data, filename=filename, content_type=content_type)
    return form


async def _actions(db: AsyncSession, user_id: int) -> list[str]:
    rows = await db.execute(select(AuditLog.action).where(AuditLog.user_id == user_id))
    return list(rows.scalars())


async def test_profile_shows_own_account(client: TestClient, world: World) -> None:
    response = await client.get(ME, headers=world.bob.headers)
    assert response.status == 200
    profile = await response.json()
    assert (profile["id"], profile["email"], profile["has_avatar"]) == (
        world.bob.user_id,
        "bob@example.com",
        False,
    )


async def test_profile_update_lower_cases_email(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    response = await client.patch(
        ME,
        json={"full_name": "Bobby", "email": "Bobby@Example.COM", "current_password": PASSWORD},
        headers=world.bob.headers,
    )
    assert response.status == 200
    profile = await response.json()
    assert (profile["full_name"], profile["pending_email"]) == ("Bobby", "bobby@example.com")
    assert "profile.updated" in await _actions(db, world.bob.user_id)


async def test_profile_email_taken_is_409(client: TestClient, world: World) -> None:
    response = await client.patch(
        ME, json={"email": "CAROL@example.com"}, headers=world.bob.headers
    )
    assert response.status == 409
    assert "already" in (await response.json())["detail"]


async def test_profile_rejects_unknown_fields(client: TestClient, world: World) -> None:
    response = await client.patch(ME, json={"role": "superadmin"}, headers=world.bob.headers)
    assert response.status == 400


async def test_avatar_upload_and_read_back(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    for image, mime in ((tiny_jpeg(), "image/jpeg"), (tiny_webp(), "image/webp")):
        response = await client.put(AVATAR, data=upload(image), headers=world.bob.headers)
        assert response.status == 200, await response.text()
        assert (await response.json())["has_avatar"] is True
        # Alice, in the same org, sees it with the type found in the content.
        got = await client.get(
            f"/api/v1/users/{world.bob.user_id}/avatar", headers=world.alice.headers
        )
        assert got.status == 200
        assert got.headers["Content-Type"] == mime
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert await got.read() == image
    assert "avatar.updated" in await _actions(db, world.bob.user_id)


async def test_avatar_png_is_accepted(client: TestClient, world: World) -> None:
    response = await client.put(AVATAR, data=upload(tiny_png()), headers=world.alice.headers)
    assert response.status == 200, await response.text()
    listed = await client.get(f"/api/v1/users/{world.alice.user_id}", headers=world.bob.headers)
    assert (await listed.json())["has_avatar"] is True


async def test_avatar_over_2mb_is_413(client: TestClient, world: World) -> None:
    big = tiny_png() + b"\x00" * (2 * 1024 * 1024)
    response = await client.put(AVATAR, data=upload(big), headers=world.bob.headers)
    assert response.status == 413
    assert "2 MB" in (await response.json())["detail"]


async def test_avatar_type_is_checked_by_content(client: TestClient, world: World) -> None:
    fake = upload(b"just some text, honest", filename="me.png", content_type="image/png")
    response = await client.put(AVATAR, data=fake, headers=world.bob.headers)
    assert response.status == 400
    assert "PNG" in (await response.json())["detail"]


async def test_avatar_refuses_svg(client: TestClient, world: World) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    response = await client.put(
        AVATAR, data=upload(svg, "a.svg", "image/svg+xml"), headers=world.bob.headers
    )
    assert response.status == 400


async def test_avatar_needs_a_file_field(client: TestClient, world: World) -> None:
    form = FormData()
    form.add_field("other", tiny_png(), filename="a.png", content_type="image/png")
    response = await client.put(AVATAR, data=form, headers=world.bob.headers)
    assert response.status == 400
    assert "file" in (await response.json())["detail"]
    response = await client.put(AVATAR, json={"file": "x"}, headers=world.bob.headers)
    assert response.status == 400


async def test_avatar_removal(client: TestClient, world: World, db: AsyncSession) -> None:
    await client.put(AVATAR, data=upload(tiny_png()), headers=world.bob.headers)
    response = await client.delete(AVATAR, headers=world.bob.headers)
    assert response.status == 204
    got = await client.get(f"/api/v1/users/{world.bob.user_id}/avatar", headers=world.bob.headers)
    assert got.status == 404
    assert "avatar.removed" in await _actions(db, world.bob.user_id)


async def test_member_without_avatar_is_404(client: TestClient, world: World) -> None:
    got = await client.get(f"/api/v1/users/{world.alice.user_id}/avatar", headers=world.bob.headers)
    assert got.status == 404
    assert "detail" in await got.json()
