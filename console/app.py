"""The console: one App, a mode per main view, one live event stream for all of them.

Flow: sign in (saved tokens, else the login screen), open the first view, follow
`/events`. Each event goes to the view in front; a view brought back to the front
reloads, and so does the one in front after the stream reconnects. Only `:q` and
ctrl+c quit.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import Any

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.dom import DOMNode
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input, Static

from console.commands import DEFAULT_VIEW, parse_command
from console.config import Credentials, save_credentials, signed_in_client
from console.messages import PromptSubmitted
from console.preferences import Preferences
from console.screens.login import LoginScreen
from console.screens.org_switcher import OrgSwitcherScreen
from console.screens.view import ViewScreen
from console.themes import MONOCHROME
from shared.api.auth import MeResponse
from shared.api.common import Role
from shared.api.events import Event, NotificationCreated, StreamReset
from shared.client import AsyncClient, ClientError, RateLimited, Unauthorized

# The main views in number-key order (0 after 9, as on the keyboard; alerts, status, admin
# and billing have no key left: `:alerts`, `:status`, `:admin` and `:billing` open them).
# A view's module is imported when it is first opened: the first frame waits for one view,
# not all of them (and plotext).
VIEWS: dict[str, str] = {
    "dashboard": "console.screens.dashboard:DashboardScreen",
    "incidents": "console.screens.incidents:IncidentsScreen",
    "monitors": "console.screens.monitors:MonitorsScreen",
    "audit": "console.screens.audit:AuditScreen",
    "resources": "console.screens.resources:ResourcesScreen",
    "costs": "console.screens.costs:CostsScreen",
    "budgets": "console.screens.budgets:BudgetsScreen",
    "notifications": "console.screens.notifications:NotificationsScreen",
    "channels": "console.screens.channels:ChannelsScreen",
    "hosts": "console.screens.hosts:HostsScreen",
    "alerts": "console.screens.alert_rules:AlertRulesScreen",
    "status": "console.screens.status_pages:StatusPagesScreen",
    "admin": "console.screens.admin:AdminScreen",
    "billing": "console.screens.billing:BillingScreen",
    "help": "console.screens.help:HelpScreen",
}
# Seconds to wait out a 429 whose answer named no Retry-After.
RATE_LIMIT_WAIT = 5.0
# Views only some roles may open (the server refuses the others anyway).
VIEW_ROLES: dict[str, Role] = {"audit": Role.superadmin}
# Views for platform admins only (a user flag, not an org role).
PLATFORM_VIEWS = frozenset({"admin"})
DETAIL_SCREENS: dict[str, str] = {
    "incident detail": "console.screens.incident_detail:IncidentDetailScreen",
    "monitor detail": "console.screens.monitor_detail:MonitorDetailScreen",
    "resource detail": "console.screens.resource_detail:ResourceDetailScreen",
    "host detail": "console.screens.host_detail:HostDetailScreen",
}


def screen_class(path: str) -> type[ViewScreen]:
    """The class a `module:Class` path of VIEWS or DETAIL_SCREENS names, imported now."""
    module, _, name = path.partition(":")
    found: type[ViewScreen] = getattr(importlib.import_module(module), name)
    return found


def _new_view(path: str) -> ViewScreen:
    return screen_class(path)()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class UpmetrApp(App[None], inherit_bindings=False):
    CSS_PATH = "styles/app.tcss"
    TITLE = "upmetr"
    BINDINGS = [
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit"),
        # Priority: taken when the key arrives, before it goes to the focused widget, so what
        # is typed right after `:` (`:q` and enter in one go) lands in the prompt.
        Binding("colon", "prompt", "Command", id="app.command", priority=True),
        Binding("question_mark", "view('help')", "Help", id="app.help"),
        Binding("1", "view('dashboard')", "Dashboard", show=False, id="app.dashboard"),
        Binding("2", "view('incidents')", "Incidents", show=False, id="app.incidents"),
        Binding("3", "view('monitors')", "Monitors", show=False, id="app.monitors"),
        Binding("4", "view('audit')", "Audit", show=False, id="app.audit"),
        Binding("5", "view('resources')", "Resources", show=False, id="app.resources"),
        Binding("6", "view('costs')", "Costs", show=False, id="app.costs"),
        Binding("7", "view('budgets')", "Budgets", show=False, id="app.budgets"),
        Binding("8", "view('notifications')", "Inbox", show=False, id="app.notifications"),
        Binding("9", "view('channels')", "Channels", show=False, id="app.channels"),
        Binding("0", "view('hosts')", "Hosts", show=False, id="app.hosts"),
        Binding("o", "switch_org", "Org", id="app.org"),
    ]

    connection: reactive[str] = reactive("connecting")
    identity: reactive[str] = reactive("")
    # The signed-in member's unread notifications: None until read once after sign-in, then
    # kept by `notification.created` events and by the inbox view's changes.
    unread: reactive[int | None] = reactive(None)

    def __init__(
        self,
        url: str,
        *,
        credentials: Credentials | None = None,
        credentials_url: str | None = None,
        readonly: bool = False,
        preferences: Preferences | None = None,
        clock: Callable[[], datetime] = _utcnow,
        remember: bool = True,
        start_view: str | None = None,
        api: AsyncClient | None = None,
        early_reads: dict[str, Awaitable[Any]] | None = None,
    ) -> None:
        """`url` is where the API answers (a tunnel's local end over SSH); `credentials_url`
        is what the credentials file records (`ssh://...` then). `remember=False` keeps
        tokens in memory only.

        `api` is a client made before the app, with its `on_tokens` wired by its maker, and
        `early_reads` what it was asked meanwhile: `/auth/me` as "me", and a view's first
        load under the view's name (see console/launch.py)."""
        self._start_view = start_view if start_view in VIEWS else DEFAULT_VIEW
        if credentials is not None and (credentials.refresh_token or credentials.access_token):
            # Textual starts in DEFAULT_MODE: with saved tokens the first view is the first
            # screen, read while `/auth/me` is on its way; no splash is drawn before it.
            self.DEFAULT_MODE = self._start_view  # type: ignore[misc]  # for this instance
        super().__init__()
        self._credentials = credentials or Credentials(credentials_url or url, "", "", "")
        self.api = api or signed_in_client(url, self._credentials, save=remember)
        self._early_reads = dict(early_reads or {})
        self.display_url = credentials_url or url
        self.readonly = readonly
        self.preferences = preferences or Preferences()
        self.now = clock
        self.me: MeResponse | None = None
        self._me_known = asyncio.Event()
        self._checking_saved_tokens = False
        self.prompt_history: list[str] = []
        # The view shown before the one in front: where esc leaves help for.
        self.previous_view = self._start_view
        self._credentials.url = self.display_url
        self._remember = remember
        for name, path in VIEWS.items():
            self.add_mode(name, partial(_new_view, path))

    # -- session -------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        if self.current_mode not in VIEWS:  # signing in first
            yield Static(f"connecting to {self.display_url} ...", id="splash")

    def on_mount(self) -> None:
        self.register_theme(MONOCHROME)
        self.theme = self.preferences.theme
        self.set_keymap(self.preferences.keys)
        self.start_session()

    @property
    def can_write(self) -> bool:
        return self.me is not None and self.me.role.rank >= Role.admin.rank

    async def signed_in(self) -> None:
        """Return once the signed-in user, and so the role, is known."""
        await self._me_known.wait()

    def take_early_read(self, name: str) -> Awaitable[Any] | None:
        """The read started before the app for `name` ("me" or a view), handed out once."""
        return self._early_reads.pop(name, None)

    @work(exclusive=True, group="session")
    async def start_session(self) -> None:
        """Signed in with the saved tokens if they still work, else through the login screen.

        With saved tokens the first view is already open and reading (see __init__). Tokens
        refused there bring the login screen over that view, which reads again once it is
        back in front.
        """
        if self.api.refresh_token or self.api.access_token:
            self._checking_saved_tokens = True  # views open meanwhile
            self.me = await self._saved_session()
            self._checking_saved_tokens = False
        while self.me is None:
            await self.push_screen_wait(LoginScreen(self._credentials.email))
            try:
                self.me = await self.api.auth.me()
            except ClientError as exc:
                self.notify(str(exc), severity="error")
        self._signed_in(self.me)
        self._me_known.set()
        self.count_unread()
        view = self.front_view
        if view is None:
            await self.switch_mode(self._start_view)
        elif view.WRITE_ACTIONS:
            view.refresh_bindings()  # opened before the role was known: show what it allows
        self.follow_events()

    async def _saved_session(self) -> MeResponse | None:
        """Who the saved tokens sign in, or None when the server refuses them (or cannot be
        reached). A rate limit says nothing of the tokens: its end is waited for, with the
        banner counting it down, rather than asking to sign in again."""
        read = self.take_early_read("me")
        while True:
            try:
                me: MeResponse = await (read or self.api.auth.me())
                return me
            except RateLimited as exc:
                read = None
                await asyncio.sleep(exc.retry_after or RATE_LIMIT_WAIT)
            except Unauthorized:
                return None
            except ClientError as exc:
                self.notify(str(exc), title="Cannot reach the server", severity="error")
                return None

    def _signed_in(self, me: MeResponse) -> None:
        self.identity = f"{me.user.email} · {me.organization.name} · {me.role.value}"
        if self._credentials.email != me.user.email:
            self._credentials.email = me.user.email
            if self._remember and self._credentials.refresh_token:
                save_credentials(self._credentials)

    def count_unread(self) -> None:
        """Read the status bar's unread count (events keep it from then on), unless the
        dashboard is in front: its one read, `/overview`, brings the count too."""
        view = self.front_view
        if (view.VIEW if view else self._start_view) != "dashboard":
            self.read_unread()

    @work(exclusive=True, group="unread")
    async def read_unread(self) -> None:
        # Refused, the count stays unknown (not shown); the views say what failed.
        with contextlib.suppress(ClientError):
            self.unread = (await self.api.notifications.unread_count()).unread

    # -- live events ---------------------------------------------------------------------

    @work(exclusive=True, group="live")
    async def follow_events(self) -> None:
        self.connection = "connecting"
        try:
            async for event in self.api.events.stream(on_connection=self._connection_changed):
                self.deliver(event)
        except ClientError as exc:
            self.connection = "offline"
            self.notify(f"Live updates stopped: {exc}", severity="error", timeout=10)

    def _connection_changed(self, connected: bool) -> None:
        came_back = connected and self.connection == "reconnecting"
        self.connection = "live" if connected else "reconnecting"
        if came_back:
            self.resync()

    def deliver(self, event: Event) -> None:
        if isinstance(event.data, StreamReset):  # events were missed: re-read instead
            self.resync()
            return
        data = event.data
        if isinstance(data, NotificationCreated) and self.me and data.user_id == self.me.user.id:
            self.unread = (self.unread or 0) + 1
        view = self.front_view
        if view is not None:
            view.receive(event)

    def resync(self) -> None:
        self.count_unread()
        view = self.front_view
        if view is not None:
            view.reload()

    @property
    def front_view(self) -> ViewScreen | None:
        """The view on screen: the top of the stack, or the one under a dialog."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, ViewScreen):
                return screen
        return None

    # -- navigation ----------------------------------------------------------------------

    def action_view(self, name: str) -> None:
        if self.me is None and not self._checking_saved_tokens:
            return
        if name not in VIEWS:
            self.notify(f"No {name} view yet", severity="warning")
            return
        required = VIEW_ROLES.get(name)
        if required is not None and (self.me is None or self.me.role.rank < required.rank):
            self.notify(f"The {name} view is for {required.value}s", severity="warning")
            return
        if name in PLATFORM_VIEWS and (self.me is None or not self.me.user.is_platform_admin):
            self.notify(f"The {name} view is for platform admins", severity="warning")
            return
        if self.current_mode in VIEWS and self.current_mode != name:
            self.previous_view = self.current_mode
        self.switch_mode(name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "prompt":  # a `:` typed into a text field or a dialog stays there
            return self.front_view is self.screen and not isinstance(self.focused, Input)
        return True

    def action_prompt(self) -> None:
        view = self.front_view
        if view is not None and view is self.screen:
            view.open_prompt(":")

    @on(PromptSubmitted)
    def _command(self, message: PromptSubmitted) -> None:
        command = parse_command(message.value)
        if command.verb == "quit":
            self.exit()
        elif command.verb == "view":
            self.action_view(command.argument)
            view = self.front_view
            if command.rest and view is not None and command.argument == view.VIEW:
                view.command(command.rest)
        elif command.verb == "org":
            self.action_switch_org()
        elif message.value:
            self.notify(f"Unknown command :{message.value} (? lists them)", severity="warning")

    @work(exclusive=True, group="org")
    async def action_switch_org(self) -> None:
        if self.me is None:
            return
        try:
            organizations = await self.api.auth.organizations()
        except ClientError as exc:
            self.notify(str(exc), severity="error")
            return
        current = self.me.organization.id
        chosen = await self.push_screen_wait(OrgSwitcherScreen(organizations, current))
        if chosen is None or chosen == current:
            return
        try:
            await self.api.auth.select_org(chosen)
            self.me = await self.api.auth.me()
        except ClientError as exc:
            self.notify(str(exc), severity="error")
            return
        self._signed_in(self.me)
        self.unread = None
        await self._forget_other_org()
        self.count_unread()
        self.follow_events()
        self.notify(f"Now in {self.me.organization.name}")

    async def _forget_other_org(self) -> None:
        """Views of the previous organization go; the one in front starts over."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        for name, path in VIEWS.items():
            if name != self.current_mode:
                await self.remove_mode(name)
                self.add_mode(name, partial(_new_view, path))
        front = self.front_view
        if front is not None:
            front.organization_changed()

    # -- help and command palette ----------------------------------------------------------

    def help_places(self) -> Iterable[tuple[str, type[DOMNode]]]:
        for name, path in (VIEWS | DETAIL_SCREENS).items():
            yield name, screen_class(path)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """ctrl+p: the actions of the view in front, then the views and the organization."""
        for active in screen.active_bindings.values():
            binding = active.binding
            if active.enabled and binding.id and binding.description and active.node is screen:
                yield SystemCommand(
                    binding.description,
                    f"{self.get_key_display(binding)} in this view",
                    partial(screen.run_action, binding.action),
                )
        for name in VIEWS:
            yield SystemCommand(f"Open {name}", f":{name}", partial(self.action_view, name))
        yield SystemCommand("Switch organization", ":org", self.action_switch_org)
        yield SystemCommand("Theme", "Change the colours", self.action_change_theme)
        yield SystemCommand("Quit", ":q", self.exit)


def run_console(url: str | None = None, *, readonly: bool = False) -> None:
    """Open the console on `url` (default: the saved login's server), reusing saved tokens."""
    from console.launch import launch

    launch(url, readonly=readonly)
