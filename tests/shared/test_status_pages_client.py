"""The `status_pages` namespace: the requests it sends (httpx.MockTransport standing in for
the network, which records them) and what it makes of the answers."""

from __future__ import annotations

import json

import httpx

from shared.api.status_pages import AnnouncementState, PageSettings
from shared.client import AsyncClient, Client
from tests.shared.recording import recording

NOW = "2026-12-06T12:00:00Z"
PAGE = {
    "id": 1, "kind": "global", "name": "Acme", "slug": None, "enabled": True,
    "title": "System Status", "company_name": None, "logo_url": None, "history_days": 90,
    "show_response_times": True, "show_uptime": True, "monitor_ids": [3, 1],
    "require_token": False, "token_hint": None, "url": "http://host/status/acme",
    "subscribers": 2, "created_at": NOW, "updated_at": NOW,
}  # fmt: skip
CLIENT_PAGE = {**PAGE, "id": 2, "kind": "client", "name": "Globex", "slug": "globex"}
ANNOUNCEMENT = {
    "id": 5, "page": "globex", "page_id": 2, "title": "Slow checkouts", "body": "Looking",
    "state": "identified", "updates": [{"state": "investigating", "body": "Looking",
                                        "created_at": NOW}],
    "created_at": NOW, "updated_at": NOW, "resolved_at": None,
}  # fmt: skip


def test_sync_and_async_clients_offer_the_same_status_page_methods() -> None:
    methods = {
        "": {"get", "put", "regenerate_token", "generate_history", "public", "subscribe",
             "clients", "announcements", "subscribers"},
        "clients": {"list", "get", "create", "update", "delete", "regenerate_token"},
        "announcements": {"list", "get", "create", "update", "delete"},
        "subscribers": {"list", "delete"},
    }  # fmt: skip
    for api in (Client("http://host"), AsyncClient("http://host")):
        for name, expected in methods.items():
            namespace = getattr(api.status_pages, name) if name else api.status_pages
            assert {m for m in dir(namespace) if not m.startswith("_")} == expected, name


def test_the_global_page_is_replaced_whole_and_its_token_comes_back_once() -> None:
    sent, handle = recording(
        {
            "GET /api/v1/status-pages/global": httpx.Response(200, json=PAGE),
            "PUT /api/v1/status-pages/global": httpx.Response(
                200, json={**PAGE, "require_token": True, "token": "stp_secret"}
            ),
            "POST /api/v1/status-pages/global/generate-history": httpx.Response(
                200, json={"monitors": 2, "days": 90, "rebuilt": 14}
            ),
        }
    )
    with Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handle)) as api:
        page = api.status_pages.get()
        saved = api.status_pages.put(PageSettings(monitor_ids=[3, 1], require_token=True))
        history = api.status_pages.generate_history()
    assert page.monitor_ids == [3, 1] and page.slug is None
    sent_body = json.loads(sent[1].content)
    assert sent_body["require_token"] is True and sent_body["title"] == "System Status"
    assert set(sent_body) == set(PageSettings.model_fields)  # a PUT names every field
    assert saved.token == "stp_secret" and history.rebuilt == 14


def test_a_client_page_update_sends_null_to_clear_and_leaves_out_what_is_not_named() -> None:
    sent, handle = recording(
        {
            "POST /api/v1/status-pages/clients": httpx.Response(201, json=CLIENT_PAGE),
            "PATCH /api/v1/status-pages/clients/2": httpx.Response(200, json=CLIENT_PAGE),
            "GET /api/v1/status-pages/clients": httpx.Response(
                200, json={"items": [CLIENT_PAGE], "total": 1, "page": 1, "per_page": 50}
            ),
        }
    )
    with Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handle)) as api:
        made = api.status_pages.clients.create(name="Globex", monitor_ids=(3,), title=None)
        api.status_pages.clients.update(2, company_name=None, enabled=False)
        listed = api.status_pages.clients.list()
    assert json.loads(sent[0].content) == {"name": "Globex", "monitor_ids": [3]}
    assert json.loads(sent[1].content) == {"company_name": None, "enabled": False}
    assert made.token is None and listed.items[0].slug == "globex"


async def test_announcements_are_asked_for_by_the_pages_slug_and_moved_on() -> None:
    sent, handle = recording(
        {
            "GET /api/v1/status-pages/announcements": httpx.Response(
                200, json={"items": [ANNOUNCEMENT], "total": 1, "page": 1, "per_page": 20}
            ),
            "POST /api/v1/status-pages/announcements": httpx.Response(201, json=ANNOUNCEMENT),
            "PATCH /api/v1/status-pages/announcements/5": httpx.Response(200, json=ANNOUNCEMENT),
            "DELETE /api/v1/status-pages/subscribers/9": httpx.Response(204),
        }
    )
    transport = httpx.MockTransport(handle)
    async with AsyncClient("http://host", api_key="upk_x", transport=transport) as api:
        listed = await api.status_pages.announcements.list(status_page="globex", state="identified")
        await api.status_pages.announcements.create(title="Slow", body="Looking", page="globex")
        await api.status_pages.announcements.update(5, state=AnnouncementState.monitoring)
        await api.status_pages.subscribers.delete(9)
    assert dict(sent[0].url.params) == {
        "status_page": "globex", "state": "identified", "page": "1", "per_page": "50",
    }  # fmt: skip
    assert listed.items[0].updates[0].state is AnnouncementState.investigating
    assert json.loads(sent[1].content) == {"title": "Slow", "body": "Looking", "page": "globex"}
    assert json.loads(sent[2].content) == {"state": "monitoring"}


def test_the_public_page_is_read_without_credentials_and_slugs_stay_one_segment() -> None:
    public = {
        "org_slug": "acme", "slug": "a/b", "title": "Status", "company_name": None,
        "branding": {"name": "Acme", "logo_url": None, "primary_color": None,
                     "accent_color": None, "whitelabel": False},
        "status": "operational", "history_days": 90, "show_uptime": True,
        "show_response_times": True, "monitors": [], "incidents": [], "announcements": [],
        "maintenance": [], "generated_at": NOW,
    }  # fmt: skip
    sent, handle = recording(
        {
            "GET /api/v1/public/status/acme/a%2Fb": httpx.Response(200, json=public),
            "POST /api/v1/public/status/acme/subscribe": httpx.Response(
                202, json={"detail": "Check your mail"}
            ),
        }
    )
    with Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handle)) as api:
        page = api.status_pages.public("acme", "a/b", token="t k")
        accepted = api.status_pages.subscribe("acme", "ann@example.com")
    assert page.status.value == "operational" and accepted.detail == "Check your mail"
    assert dict(sent[0].url.params) == {"token": "t k"}
    assert json.loads(sent[1].content) == {"email": "ann@example.com"}
    assert all("authorization" not in request.headers for request in sent)
