"""The `status_pages` namespace (`/status-pages`): the organization's global page, its client
pages, their announcements and subscribers; and the public page a visitor reads
(`/public/status`, no sign-in). Kept in the `endpoint` style of monitors.py.

A page's token is answered once, by the call that makes it: `put` turning `require_token`
on, `clients.create` with it on, and each `regenerate_token`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from shared.api.common import Page, jsonable
from shared.api.status_pages import (
    AnnouncementRead,
    AnnouncementState,
    HistoryGenerated,
    PageRead,
    PageSettings,
    PageWithToken,
    PublicStatusPage,
    SubscribeAccepted,
    SubscriberRead,
)
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint

GLOBAL = "/status-pages/global"
CLIENTS = "/status-pages/clients"
ANNOUNCEMENTS = "/status-pages/announcements"
SUBSCRIBERS = "/status-pages/subscribers"
PUBLIC = "/public/status"

# A client page's settings besides name and slug (see PageSettings), passed as keywords.
Setting = Any


def _segment(slug: str) -> str:
    """A slug as one path segment: the server checks its form, quoting keeps a stray `/`
    or `?` from reaching another route."""
    return quote(slug, safe="")


def _public_path(org_slug: str, client_slug: str | None) -> str:
    path = f"{PUBLIC}/{_segment(org_slug)}"
    return path if client_slug is None else f"{path}/{_segment(client_slug)}"


class ClientPages(Namespace[M]):
    """Client pages (`/status-pages/clients`): a page per customer, with monitors of its own."""

    @endpoint
    def list(self, *, page: int = 1, per_page: int = 50) -> Call[Page[PageRead]]:
        return Call(
            "GET", CLIENTS, parse_as(Page[PageRead]), params=query(page=page, per_page=per_page)
        )

    @endpoint
    def get(self, page_id: int) -> Call[PageRead]:
        return Call("GET", f"{CLIENTS}/{int(page_id)}", parse_as(PageRead))

    @endpoint
    def create(
        self, *, name: str, slug: str | None = None, **settings: Setting
    ) -> Call[PageWithToken]:
        """`settings`: enabled, title, monitor_ids, require_token... as in PageSettings; the
        slug comes from the name when left out. With `require_token`, the token comes back
        once."""
        return Call(
            "POST", CLIENTS, parse_as(PageWithToken), json=body(name=name, slug=slug, **settings)
        )

    @endpoint
    def update(self, page_id: int, **changes: Setting) -> Call[PageWithToken]:
        """Change the fields given. Unlike other updates, None is sent: it clears
        `company_name` or `logo_url` (the server refuses it for the others). Read as a page
        with a token, in case turning `require_token` on answers the token it made."""
        fields = {name: jsonable(value) for name, value in changes.items()}
        return Call("PATCH", f"{CLIENTS}/{int(page_id)}", parse_as(PageWithToken), json=fields)

    @endpoint
    def delete(self, page_id: int) -> Call[None]:
        """Delete a client page with its announcements and subscribers."""
        return Call("DELETE", f"{CLIENTS}/{int(page_id)}", no_content)

    @endpoint
    def regenerate_token(self, page_id: int) -> Call[PageWithToken]:
        """A new token; links with the old one stop working at once."""
        return Call("POST", f"{CLIENTS}/{int(page_id)}/regenerate-token", parse_as(PageWithToken))


class Announcements(Namespace[M]):
    """Public notes on a page (`/status-pages/announcements`), moved through the states of an
    incident write-up: investigating, identified, monitoring, resolved."""

    @endpoint
    def list(
        self,
        *,
        status_page: str | None = None,
        state: AnnouncementState | str | None = None,
        page: int = 1,
        per_page: int = 50,
    ) -> Call[Page[AnnouncementRead]]:
        """Newest first; `status_page`: "global" or a client page's slug (every page when
        left out)."""
        return Call(
            "GET",
            ANNOUNCEMENTS,
            parse_as(Page[AnnouncementRead]),
            params=query(status_page=status_page, state=state, page=page, per_page=per_page),
        )

    @endpoint
    def get(self, announcement_id: int) -> Call[AnnouncementRead]:
        return Call("GET", f"{ANNOUNCEMENTS}/{int(announcement_id)}", parse_as(AnnouncementRead))

    @endpoint
    def create(
        self,
        *,
        title: str,
        body: str,
        state: AnnouncementState | str | None = None,
        page: str | None = None,
    ) -> Call[AnnouncementRead]:
        """`page`: "global" (the default) or a client page's slug."""
        fields = _fields(title=title, body=body, state=state, page=page)
        return Call("POST", ANNOUNCEMENTS, parse_as(AnnouncementRead), json=fields)

    @endpoint
    def update(
        self,
        announcement_id: int,
        *,
        title: str | None = None,
        body: str | None = None,
        state: AnnouncementState | str | None = None,
    ) -> Call[AnnouncementRead]:
        """A new state and/or a new note, kept as one more step; None leaves a field be."""
        fields = _fields(title=title, body=body, state=state)
        return Call(
            "PATCH",
            f"{ANNOUNCEMENTS}/{int(announcement_id)}",
            parse_as(AnnouncementRead),
            json=fields,
        )

    @endpoint
    def delete(self, announcement_id: int) -> Call[None]:
        return Call("DELETE", f"{ANNOUNCEMENTS}/{int(announcement_id)}", no_content)


def _fields(**fields: Any) -> dict[str, Any]:
    # In the methods of announcements, the `body` argument hides the call module's helper.
    return body(**fields)


class Subscribers(Namespace[M]):
    """Who subscribed to a page by email (`/status-pages/subscribers`)."""

    @endpoint
    def list(
        self, *, status_page: str | None = None, page: int = 1, per_page: int = 50
    ) -> Call[Page[SubscriberRead]]:
        """Confirmed subscribers, by address; `status_page`: "global" or a client page's slug
        (every page when left out)."""
        return Call(
            "GET",
            SUBSCRIBERS,
            parse_as(Page[SubscriberRead]),
            params=query(status_page=status_page, page=page, per_page=per_page),
        )

    @endpoint
    def delete(self, subscriber_id: int) -> Call[None]:
        """Remove a subscriber: they hear of the page no more."""
        return Call("DELETE", f"{SUBSCRIBERS}/{int(subscriber_id)}", no_content)


class StatusPages(Namespace[M]):
    """The global status page (`/status-pages/global`), with `clients`, `announcements` and
    `subscribers` beside it, and what the public reads and subscribes to."""

    def __init__(self, core: Any) -> None:
        super().__init__(core)
        self.clients: ClientPages[M] = ClientPages(core)
        self.announcements: Announcements[M] = Announcements(core)
        self.subscribers: Subscribers[M] = Subscribers(core)

    @endpoint
    def get(self) -> Call[PageRead]:
        """The organization's global page."""
        return Call("GET", GLOBAL, parse_as(PageRead))

    @endpoint
    def put(self, settings: PageSettings) -> Call[PageWithToken]:
        """Replace the global page's settings (a field left at its default is reset). The
        token comes back when `require_token` was just turned on and none existed."""
        return Call("PUT", GLOBAL, parse_as(PageWithToken), json=settings.model_dump(mode="json"))

    @endpoint
    def regenerate_token(self) -> Call[PageWithToken]:
        """A new token for the global page; links with the old one stop working at once."""
        return Call("POST", f"{GLOBAL}/regenerate-token", parse_as(PageWithToken))

    @endpoint
    def generate_history(self) -> Call[HistoryGenerated]:
        """Rebuild the pages' daily history from the stored hourly rollups."""
        return Call("POST", f"{GLOBAL}/generate-history", parse_as(HistoryGenerated))

    @endpoint
    def public(
        self, org_slug: str, client_slug: str | None = None, *, token: str | None = None
    ) -> Call[PublicStatusPage]:
        """The page as a visitor reads it, without signing in (`token` when it requires one)."""
        return Call(
            "GET",
            _public_path(org_slug, client_slug),
            parse_as(PublicStatusPage),
            params=query(token=token),
            authenticated=False,
        )

    @endpoint
    def subscribe(
        self,
        org_slug: str,
        email: str,
        *,
        client_slug: str | None = None,
        token: str | None = None,
    ) -> Call[SubscribeAccepted]:
        """Ask for a page's news by email: the server mails a link to confirm (double opt-in).
        `token` when the page requires one."""
        return Call(
            "POST",
            f"{_public_path(org_slug, client_slug)}/subscribe",
            parse_as(SubscribeAccepted),
            params=query(token=token),
            json=body(email=email),
            authenticated=False,
        )
