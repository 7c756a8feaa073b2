"""What every console view shares: the status bar, the prompt, the footer, role-aware
actions, readable errors, and loading only while the view is on screen.

A view loads its data when it is mounted and each time it is shown again (`reload`), then
follows live events while shown (`live`). It reads again only when events may have been
missed (the stream reconnected, or said `stream.reset`), when it was behind another view,
or for a change an event does not carry; never on a timer: the API allows a user 60
requests a minute, shared by every console and script of theirs.

While the server refuses requests for that limit (429), the status bar says `rate limited`
and a banner counts down the seconds of its `Retry-After`; the client waits them itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable
from functools import partial
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from console.messages import FilterChanged, PromptSubmitted
from console.textual_compat import DrawnAfterBatch, size_classes
from console.widgets.key_footer import KeyFooter
from console.widgets.prompt import Prompt
from console.widgets.rate_limit_banner import RateLimitBanner
from console.widgets.resource_table import TICK_SECONDS, ResourceTable
from console.widgets.status_bar import StatusBar
from shared.api.events import Event
from shared.client import ClientError, RateLimited

if TYPE_CHECKING:
    from console.app import UpmetrApp

T = TypeVar("T")

# How long a live event may wait for the rest of its burst before it is applied.
BURST_SECONDS = 0.1
# How long a view's first frame waits for its first load: an answer in time is in the first
# frame; a slower one is drawn over the empty view.
FIRST_FRAME_SECONDS = 0.25


def _rate_limited(app: UpmetrApp, seconds: float) -> None:
    """The client was answered 429: the view in front says so (a view shown later asks the
    client itself when it comes to the front)."""
    view = app.front_view
    if view is not None and view.is_mounted:
        view.show_rate_limit()


class ViewScreen(DrawnAfterBatch):
    VIEW: ClassVar[str] = ""
    # Actions that change data: hidden from viewers, shown disabled when read-only.
    WRITE_ACTIONS: ClassVar[frozenset[str]] = frozenset()

    BINDINGS = [
        # Priority, as `:` in console/app.py: what is typed right after `/` is the filter's.
        Binding("slash", "filter", "Filter", id="view.filter", priority=True),
        Binding("escape", "back", "Back", show=False, id="view.back"),
        Binding("ctrl+r", "reload", "Reload", show=False, id="view.reload"),
    ]

    _shown_before = False
    _pending: list[Event] | None = None  # events held while a load is under way
    _rate_limit_tick: Timer | None = None  # counts the banner down while rate limited
    _retry: Timer | None = None  # a load refused for the rate limit, tried again
    _under_dialog = False  # suspended by a dialog on top, not by another view
    filter_text = ""

    def __init__(self) -> None:
        super().__init__()
        self._inbox: list[Event] = []  # events of the burst being read, applied together
        # The size classes that the first resize would add, added now: when they arrive
        # after mounting, every widget is styled again.
        self.add_class(*size_classes(self, self.app), update=False)

    @property
    def upmetr(self) -> UpmetrApp:
        return cast("UpmetrApp", self.app)

    def compose(self) -> ComposeResult:
        yield StatusBar(self.VIEW)
        yield RateLimitBanner()
        yield from self.compose_body()
        prompt = Prompt(self.upmetr.prompt_history)
        prompt.display = False
        yield prompt
        yield KeyFooter()

    def compose_body(self) -> ComposeResult:
        raise NotImplementedError

    def reload(self) -> None:
        """Fetch this view's data again; called when shown and after reconnects."""
        self._load_in_worker()

    def organization_changed(self) -> None:
        """The console switched organization while this view was in front: read it anew."""
        self.reload()

    @work(exclusive=True, group="load")
    async def _load_in_worker(self) -> None:
        """Load, then replay the events that arrived meanwhile: the answer may predate them
        (an incident deleted while the list was on its way must not come back)."""
        pending: list[Event] = []
        self._pending = pending
        try:
            await self.load()
        finally:
            if self._pending is pending:
                self._pending = None
            self.live_many(pending)

    def receive(self, event: Event) -> None:
        """A live event for this view: applied with the rest of its burst, or after the load
        under way. Events are applied BURST_SECONDS after the first of a burst, all at once:
        a check writer's batch brings hundreds, and drawing between its parts (a table
        redraws every visible line) would make the last of them wait for each drawing."""
        if self._pending is not None:
            self._pending.append(event)
            return
        self._inbox.append(event)
        if len(self._inbox) == 1:
            self.set_timer(BURST_SECONDS, self._apply_inbox)

    def _apply_inbox(self) -> None:
        events, self._inbox = self._inbox, []
        self.live_many(events)

    def live_many(self, events: list[Event]) -> None:
        """Apply a burst of events; views that can draw once for all of them override it."""
        for event in events:
            self.live(event)

    async def load(self) -> None:
        """Read this view's data from the server and show it (runs in a worker)."""

    def live(self, event: Event) -> None:
        """Apply one live event of the organization while this view is shown."""

    def apply_filter(self, text: str) -> None:
        """Narrow the view's tables to the rows that match `text` (a RowFilter)."""
        for table in self.query(ResourceTable).results(ResourceTable):
            table.apply_filter(text)

    def command(self, argument: str) -> None:
        """`:<view> <argument>` (`:res type=ec2`); views that take arguments override it."""
        self.notify(f":{self.VIEW} takes no arguments", severity="warning")

    def action_open(self) -> None:
        """Open what the row under the cursor stands for; views with a detail override it."""

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """enter or a click on a row: the view's open action, on the table it happened in
        (a view with several tables opens from the focused one)."""
        event.stop()
        event.data_table.focus()
        self.action_open()

    def on_mount(self) -> None:
        # Every view sets the same callback: it goes to whichever view is in front.
        self.upmetr.api.on_rate_limited = partial(_rate_limited, self.upmetr)
        if type(self).tick is not ViewScreen.tick:
            self.set_interval(TICK_SECONDS, self._tick)
        # The first load starts with the view rather than when it is first shown: an answer
        # already there (the first view's, read before the app existed: console/launch.py)
        # is then in the view's first frame, not drawn over it a frame later.
        self.run_worker(self._first_frame(self._load_in_worker()), group="first-frame")

    async def _first_frame(self, first_load: Worker[None]) -> None:
        """Draw nothing until the first load is in, for at most FIRST_FRAME_SECONDS: an empty
        frame drawn just before the data costs as much as the frame with it."""
        with (
            self.app.batch_update(),
            contextlib.suppress(TimeoutError, WorkerCancelled, WorkerFailed),
        ):
            await asyncio.wait_for(asyncio.shield(first_load.wait()), FIRST_FRAME_SECONDS)
        if not first_load.is_finished:
            self.first_load_pending()

    def tick(self) -> None:
        """Redraw what moves with the clock alone (`opened 5m ago`) from what the view holds,
        every TICK_SECONDS while it is in front; never a request. Tables do it themselves
        (ResourceTable.follow_time)."""

    def _tick(self) -> None:
        if self.is_active:
            self.tick()

    def first_load_pending(self) -> None:
        """The first frame is drawn before the first load is in (a slow or rate-limited
        server): views whose empty state reads as data ("nothing changed") say they wait."""

    def on_screen_resume(self) -> None:
        # Shown for the first time, its first load is under way. Under a dialog the view
        # stayed in front and kept receiving its live events: nothing was missed.
        if self._shown_before and not self._under_dialog:
            self.reload()
        self._shown_before = True
        self._under_dialog = False
        self.show_rate_limit()  # one that began while another view was in front

    def on_screen_suspend(self) -> None:
        self._under_dialog = isinstance(self.app.screen, ModalScreen)

    # -- rate limit ----------------------------------------------------------------------

    def show_rate_limit(self) -> None:
        """Say so while the server's last 429 holds, counting its seconds down each second
        (drawn from the client's clock: no request is sent to count)."""
        if self._rate_limit_tick is None and self._draw_rate_limit():
            self._rate_limit_tick = self.set_interval(1.0, self._count_down)

    def _count_down(self) -> None:
        if not self._draw_rate_limit() and self._rate_limit_tick is not None:
            self._rate_limit_tick.stop()
            self._rate_limit_tick = None

    def _draw_rate_limit(self) -> bool:
        seconds = math.ceil(self.upmetr.api.rate_limit_left())
        self.query_one(RateLimitBanner).seconds_left = seconds
        self.query_one(StatusBar).rate_limited = seconds > 0
        return seconds > 0

    def _retry_after_rate_limit(self, error: RateLimited) -> None:
        """A load whose retries (the client waits `Retry-After` up to three times) the rate
        limit outlasted: load once more when it ends."""
        self.show_rate_limit()
        if self._retry is None:
            wait = max(self.upmetr.api.rate_limit_left(), error.retry_after or 1.0)
            self._retry = self.set_timer(wait, self._retry_now)

    def _retry_now(self) -> None:
        self._retry = None
        self.reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":  # a `/` typed into a text field stays there
            return not isinstance(self.focused, Input)
        if action not in self.WRITE_ACTIONS:
            return True
        if not self.upmetr.can_write:
            return False  # a viewer: the action does not exist for them
        return None if self.upmetr.readonly else True  # read-only: shown, disabled

    def open_prompt(self, kind: str) -> None:
        self.query_one(Prompt).open(kind, self.filter_text if kind == "/" else "")

    def action_filter(self) -> None:
        self.open_prompt("/")

    def action_reload(self) -> None:
        self.reload()

    def action_back(self) -> None:
        if self.filter_text:
            self._set_filter("")
        elif len(self.app.screen_stack) > 1:
            self.dismiss()

    @on(FilterChanged)
    def _filter_changed(self, message: FilterChanged) -> None:
        self._set_filter(message.value)

    @on(PromptSubmitted)
    def _filter_submitted(self, message: PromptSubmitted) -> None:
        if message.kind == "/":
            message.stop()
            self._set_filter(message.value)
            self.focus_next()

    def _set_filter(self, text: str) -> None:
        self.filter_text = text
        self.apply_filter(text)

    async def attempt(self, call: Awaitable[T], done: str | None = None) -> T | None:
        """Await an API call; the server's complaint becomes a notification, not a traceback."""
        try:
            result = await call
        except RateLimited as exc:
            if self._pending is not None:  # this view's load: the banner says why it waits
                self._retry_after_rate_limit(exc)
            else:  # an action (or a read) the person asked for was not done: say so
                self.show_rate_limit()
                self.notify(str(exc), title="Rate limited", severity="warning", timeout=8)
            return None
        except ClientError as exc:
            # Before the saved tokens are confirmed, the sign-in says what went wrong.
            if self.upmetr.me is not None:
                self.notify(str(exc), title="The server said no", severity="error", timeout=8)
            return None
        # What a view shows waits for the user it is shown to: the role decides the actions
        # it offers (a view opened with saved tokens reads while `/auth/me` is on its way).
        await self.upmetr.signed_in()
        if not self.display:  # being removed meanwhile (quitting, another organization)
            return None
        if done:
            self.notify(done)
        return result
