"""The organization: renaming, slugs, branding behind the whitelabel module, logos, settings."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.billing.models import Plan
from server.orgs.models import Organization
from tests.conftest import World
from tests.server.test_users_profile import tiny_jpeg, tiny_png, tiny_webp, upload

ORG = "/api/v1/organization"
LOGO = "/api/v1/organization/logo"
SETTINGS = "/api/v1/settings"
SVG = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<rect width="10" height="10" fill="#0a0"/></svg>'
)


async def _actions(db: AsyncSession, org_id: int) -> list[str]:
    rows = await db.execute(select(AuditLog.action).where(AuditLog.org_id == org_id))
    return list(rows.scalars())


async def _set_plan(db: AsyncSession, org_id: int, code: str) -> None:
    async with db.begin():
        plan_id = (await db.execute(select(Plan.id).where(Plan.code == code))).scalar_one()
        await db.execute(
            update(Organization).where(Organization.id == org_id).values(plan_id=plan_id)
        )


async def test_members_read_the_organization(client: TestClient, world: World) -> None:
    response = await client.get(ORG, headers=world.bob.headers)
    assert response.status == 200
    org = await response.json()
    assert (org["id"], org["name"], org["slug"], org["plan"]) == (
        world.org_a,
        "Org A",
        "org-a",
        "enterprise",
    )
    assert org["has_logo"] is False


async def test_superadmin_renames_and_reslugs(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    response = await client.patch(
        ORG, json={"name": "Acme", "slug": "acme"}, headers=world.alice.headers
    )
    assert response.status == 200
    org = await response.json()
    assert (org["name"], org["slug"]) == ("Acme", "acme")
    assert "organization.updated" in await _actions(db, world.org_a)


async def test_taken_slug_is_409(client: TestClient, world: World) -> None:
    response = await client.patch(ORG, json={"slug": "org-b"}, headers=world.alice.headers)
    assert response.status == 409
    assert "org-b" in (await response.json())["detail"]


async def test_bad_slug_is_400(client: TestClient, world: World) -> None:
    response = await client.patch(ORG, json={"slug": "Not A Slug"}, headers=world.alice.headers)
    assert response.status == 400
    assert "slug" in (await response.json())["detail"]


async def test_viewer_cannot_change_the_organization(client: TestClient, world: World) -> None:
    assert (await client.patch(ORG, json={"name": "X"}, headers=world.bob.headers)).status == 403
    assert (
        await client.put(LOGO, data=upload(tiny_png()), headers=world.bob.headers)
    ).status == 403
    assert (await client.delete(LOGO, headers=world.bob.headers)).status == 403
    patch = await client.patch(SETTINGS, json={"discovery_auto": False}, headers=world.bob.headers)
    assert patch.status == 403


async def test_brand_colours_are_set_with_whitelabel(client: TestClient, world: World) -> None:
    response = await client.patch(
        ORG,
        json={"brand_name": "Acme Ops", "brand_primary_color": "#AA00ff"},
        headers=world.alice.headers,
    )
    assert response.status == 200
    org = await response.json()
    assert (org["brand_name"], org["brand_primary_color"]) == ("Acme Ops", "#aa00ff")
    bad = await client.patch(ORG, json={"brand_accent_color": "red"}, headers=world.alice.headers)
    assert bad.status == 400


async def test_brand_colours_need_whitelabel_module(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await _set_plan(db, world.org_a, "pro")
    response = await client.patch(
        ORG, json={"brand_primary_color": "#112233"}, headers=world.alice.headers
    )
    assert response.status == 403
    assert "whitelabel" in (await response.json())["detail"]
    # The rest of the organization stays editable, and branding can be cleared.
    assert (
        await client.patch(ORG, json={"name": "Acme"}, headers=world.alice.headers)
    ).status == 200
    cleared = await client.patch(ORG, json={"brand_name": None}, headers=world.alice.headers)
    assert cleared.status == 200


async def test_logo_upload_and_read_back(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    for image, mime in (
        (tiny_png(), "image/png"),
        (tiny_jpeg(), "image/jpeg"),
        (tiny_webp(), "image/webp"),
    ):
        response = await client.put(LOGO, data=upload(image), headers=world.alice.headers)
        assert response.status == 200, await response.text()
        assert (await response.json())["has_logo"] is True
        got = await client.get(LOGO, headers=world.bob.headers)
        assert (got.status, got.headers["Content-Type"]) == (200, mime)
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert await got.read() == image
    assert "organization.logo_updated" in await _actions(db, world.org_a)


async def test_svg_logo_is_served_sandboxed(client: TestClient, world: World) -> None:
    response = await client.put(
        LOGO, data=upload(SVG, "logo.svg", "image/svg+xml"), headers=world.alice.headers
    )
    assert response.status == 200, await response.text()
    got = await client.get(LOGO, headers=world.bob.headers)
    assert got.headers["Content-Type"] == "image/svg+xml"
    assert got.headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert await got.read() == SVG


async def test_svg_logo_with_script_or_handlers_is_refused(
    client: TestClient, world: World
) -> None:
    hostile = [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>',
        b"<svg/onload=alert(1)><rect/></svg>",
        b'<svg xmlns="http://www.w3.org/2000/svg"><a href="&#106;avascript:alert(1)">x</a></svg>',
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><p>x</p></foreignObject></svg>',
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>',
        b"<html><body>not an svg</body></html>",
    ]
    for svg in hostile:
        response = await client.put(
            LOGO, data=upload(svg, "logo.svg", "image/svg+xml"), headers=world.alice.headers
        )
        assert response.status == 400, svg
    assert (await client.get(LOGO, headers=world.alice.headers)).status == 404


async def test_logo_type_is_checked_by_content(client: TestClient, world: World) -> None:
    fake = upload(b"GIF89a not allowed", "logo.png", "image/png")
    response = await client.put(LOGO, data=fake, headers=world.alice.headers)
    assert response.status == 400


async def test_logo_over_2mb_is_413(client: TestClient, world: World) -> None:
    big = tiny_png() + b"\x00" * (2 * 1024 * 1024 + 1)
    response = await client.put(LOGO, data=upload(big), headers=world.alice.headers)
    assert response.status == 413
    assert "detail" in await response.json()


async def test_logo_removal(client: TestClient, world: World, db: AsyncSession) -> None:
    await client.put(LOGO, data=upload(tiny_png()), headers=world.alice.headers)
    assert (await client.delete(LOGO, headers=world.alice.headers)).status == 204
    assert (await client.get(LOGO, headers=world.alice.headers)).status == 404
    org = await (await client.get(ORG, headers=world.alice.headers)).json()
    assert org["has_logo"] is False
    assert "organization.logo_removed" in await _actions(db, world.org_a)


async def test_logo_of_another_org_is_not_served(client: TestClient, world: World) -> None:
    await client.put(LOGO, data=upload(tiny_png()), headers=world.alice.headers)
    assert (await client.get(LOGO, headers=world.carol.headers)).status == 404


async def test_settings_start_from_defaults(client: TestClient, world: World) -> None:
    response = await client.get(SETTINGS, headers=world.bob.headers)
    assert response.status == 200
    assert await response.json() == {
        "discovery_auto": True,
        "discovery_interval": "24h",
        "default_check_interval_seconds": 60,
        "cloudwatch_polling": False,
        "cloudwatch_interval_seconds": 300,
        "ssh_key_counts_as_mfa": False,
    }


async def test_settings_update_merges_and_persists(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    response = await client.patch(
        SETTINGS,
        json={"discovery_auto": False, "discovery_interval": "6h"},
        headers=world.alice.headers,
    )
    assert response.status == 200
    await client.patch(SETTINGS, json={"cloudwatch_polling": True}, headers=world.alice.headers)
    settings = await (await client.get(SETTINGS, headers=world.bob.headers)).json()
    assert (settings["discovery_auto"], settings["discovery_interval"]) == (False, "6h")
    assert settings["cloudwatch_polling"] is True
    assert settings["default_check_interval_seconds"] == 60
    other = await (await client.get(SETTINGS, headers=world.carol.headers)).json()
    assert other["discovery_auto"] is True
    assert "settings.updated" in await _actions(db, world.org_a)


async def test_settings_reject_bad_values(client: TestClient, world: World) -> None:
    bad = await client.patch(
        SETTINGS, json={"discovery_interval": "2h"}, headers=world.alice.headers
    )
    assert bad.status == 400
    assert "discovery_interval" in (await bad.json())["detail"]


async def test_default_check_interval_respects_the_plan_minimum(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    await _set_plan(db, world.org_a, "free")
    response = await client.patch(
        SETTINGS, json={"default_check_interval_seconds": 60}, headers=world.alice.headers
    )
    assert response.status == 403
    assert "min check interval" in (await response.json())["detail"]
