"""console/textual_compat.py against the installed Textual: each rule the console computes
itself is compared with what Textual does on screen, so an upgrade that changes one fails
here."""

from __future__ import annotations

import functools
import importlib
import inspect
import io
import pkgutil
import textwrap
import tokenize
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import textual
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import DataTable, Static

from console.app import DETAIL_SCREENS, VIEWS, UpmetrApp, screen_class
from console.screens.view import ViewScreen
from console.textual_compat import (
    DrawnAfterBatch,
    breakpoint_class,
    class_bindings,
    size_classes,
)
from console.widgets.resource_table import ResourceTable

HORIZONTAL = [(0, "-narrow"), (120, "-wide"), (80, "-mid")]  # out of order on purpose
VERTICAL = [(0, "-short"), (40, "-tall")]
OWN_HORIZONTAL = [(0, "-small"), (100, "-big")]
CONSOLE = Path(importlib.import_module("console").__file__ or "").parent
NAMES = {name for _, name in HORIZONTAL + VERTICAL + OWN_HORIZONTAL}


class OwnBreakpoints(Screen[None]):
    HORIZONTAL_BREAKPOINTS = OWN_HORIZONTAL  # vertical: the app's


class Breakpointed(App[None]):
    HORIZONTAL_BREAKPOINTS = HORIZONTAL
    VERTICAL_BREAKPOINTS = VERTICAL


def test_a_breakpoint_applies_from_its_size_up_to_the_next() -> None:
    assert breakpoint_class(79, HORIZONTAL) == "-narrow"
    assert breakpoint_class(80, HORIZONTAL) == "-mid"
    assert breakpoint_class(500, HORIZONTAL) == "-wide"
    assert breakpoint_class(5, [(10, "-big")]) is None


@pytest.mark.parametrize("size", [(79, 39), (80, 40), (119, 24), (120, 48), (99, 10), (100, 60)])
async def test_size_classes_are_the_ones_textual_gives_the_screen(size: tuple[int, int]) -> None:
    app = Breakpointed()
    async with app.run_test(size=size) as pilot:
        screens: list[Screen[Any]] = [app.screen]
        await app.push_screen(OwnBreakpoints())
        await pilot.pause()
        screens.append(app.screen)
        for screen in screens:
            assert screen.classes & NAMES == set(size_classes(screen, app)), type(screen)


# DrawnAfterBatch: Textual renders a screen laid out inside a batch update (and throws the
# frame away); this one waits for the batch to end and is then drawn.


class Counted(Static):
    DEFAULT_CSS = "Counted { width: 1fr; height: 1; }"  # sized without rendering it
    renders = 0

    def render(self) -> Any:
        Counted.renders += 1
        return super().render()


class PlainScreen(Screen[None]):
    def compose(self) -> ComposeResult:
        yield Counted("drawn")


class HeldScreen(DrawnAfterBatch):
    def compose(self) -> ComposeResult:
        yield Counted("drawn")


async def renders_in_and_after_batch(screen: Screen[None]) -> tuple[int, int]:
    """How often the screen's widget is rendered while the terminal is resized inside a batch
    (the screen is laid out again at once, as when it is first shown), and after."""
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await app.push_screen(screen)
        await pilot.pause(0.1)
        Counted.renders = 0
        with app.batch_update():
            await pilot.resize_terminal(100, 30)
            await pilot.pause(0.1)
            during = Counted.renders
        await pilot.pause(0.1)
        return during, Counted.renders - during


async def test_textual_renders_a_screen_inside_a_batch_where_the_frame_is_lost() -> None:
    """What DrawnAfterBatch is for: when this fails, Textual no longer does it; drop it."""
    during, _ = await renders_in_and_after_batch(PlainScreen())
    assert during > 0


async def test_a_screen_drawn_after_batch_is_rendered_once_the_batch_ends() -> None:
    during, after = await renders_in_and_after_batch(HeldScreen())
    assert (during, after > 0) == (0, True)


# Bindings: what class_bindings says a class has, against the bindings Textual makes active
# for a node of that class on screen (Screen.active_bindings, with the node focused).


class Base(Widget, can_focus=True):
    BINDINGS = [Binding("a", "one", "One", id="base.one"), Binding("b", "two", "Two")]


class Child(Base):
    BINDINGS = [Binding("b", "three", "Three", id="child.three"), ("c", "four", "Four")]


class Dropping(Base, inherit_bindings=False):  # as the console's app is declared
    BINDINGS = [Binding("d", "five", "Five")]


class DroppingApp(App[None], inherit_bindings=False):
    BINDINGS = [Binding("ctrl+c", "quit", "Quit", priority=True), Binding("e", "six", "Six")]


def probe(node_class: type[DOMNode]) -> Any:
    """A subclass adding nothing but the focus, so that its bindings are active."""
    extra: dict[str, Any] = {"can_focus": True} if issubclass(node_class, Widget) else {}
    return type(f"Probe{node_class.__name__}", (node_class,), extra)


class Host(App[None]):
    def __init__(self, widget: Widget | None = None):
        super().__init__()
        self.probed = widget

    def compose(self) -> ComposeResult:
        if self.probed is not None:
            yield self.probed


async def active_for(node_class: type[DOMNode]) -> tuple[dict[str, Binding], dict[str, Any]]:
    """The active bindings whose node is a `node_class` on screen, and all of them."""
    node = probe(node_class)()
    # A screen is pushed on the host, a widget composed in it.
    composed = None if isinstance(node, Screen) else node
    app = node if isinstance(node, App) else Host(composed)
    async with app.run_test() as pilot:
        if isinstance(node, Screen):
            await app.push_screen(node)
        elif isinstance(node, Widget):
            node.focus()
        await pilot.pause()
        active = dict(app.screen.active_bindings)
    return {key: found.binding for key, found in active.items() if found.node is node}, active


async def assert_agrees(node_class: type[DOMNode]) -> None:
    declared: dict[str, Binding] = {}
    for binding in class_bindings(node_class):
        declared.setdefault(binding.key, binding)
    own, active = await active_for(node_class)
    # An app's instance adds the command palette's key (App.COMMAND_PALETTE_BINDING).
    own = {key: binding for key, binding in own.items() if binding.action != "command_palette"}
    assert own == {key: declared.get(key) for key in own}, node_class
    # Every declared key is active: the node's, or taken by another node of the chain (the
    # screen's ctrl+c before the app's, a priority binding before the focused widget's).
    assert set(declared) <= set(active), node_class


async def test_class_bindings_follow_a_subclass_rebinding_a_key() -> None:
    keys = {binding.key: binding.action for binding in class_bindings(Child)}
    assert keys == {"a": "one", "b": "three", "c": "four"} | {
        binding.key: binding.action for binding in class_bindings(Widget)
    }
    await assert_agrees(Child)


async def test_class_bindings_drop_the_bases_after_inherit_bindings_false() -> None:
    assert [binding.key for binding in class_bindings(Dropping)] == ["d"]
    assert [binding.key for binding in class_bindings(DroppingApp)] == ["ctrl+c", "e"]
    await assert_agrees(Dropping)
    await assert_agrees(DroppingApp)


def listed_classes() -> list[type[DOMNode]]:
    """The classes whose bindings the help view lists (console/screens/help.py)."""
    views = [screen_class(path) for path in (VIEWS | DETAIL_SCREENS).values()]
    return [UpmetrApp, ViewScreen, DataTable, ResourceTable, *views]


TEXTUAL_BASES = sorted(
    {
        base
        for listed in listed_classes()
        for base in listed.__mro__
        if base.__module__.startswith("textual.")
        and issubclass(base, DOMNode)
        and base is not DOMNode  # never on screen alone; in every probe's bases
    },
    key=lambda base: base.__name__,
)


@pytest.mark.parametrize("base", TEXTUAL_BASES, ids=lambda base: base.__name__)
async def test_class_bindings_agree_with_textual_for_the_classes_help_lists(
    base: type[DOMNode],
) -> None:
    await assert_agrees(base)


async def test_class_bindings_of_the_console_table_agree_with_textual() -> None:
    table = ResourceTable(["NAME"])
    app = Host(table)
    async with app.run_test() as pilot:
        table.focus()
        await pilot.pause()
        active = app.screen.active_bindings
    own = {key: found.binding for key, found in active.items() if found.node is table}
    declared: dict[str, Binding] = {}
    for binding in class_bindings(ResourceTable):
        declared.setdefault(binding.key, binding)
    assert own == declared  # every key of a table is the table's while it has the focus


# The console outside this module names nothing private of Textual's.


def code_names(source: str) -> tuple[set[str], set[str]]:
    """The `_names` code (not its comments or strings) reads as attributes, and those it
    defines itself (methods, class attributes, `self._x = ...`)."""
    tokens = [
        token
        for token in tokenize.generate_tokens(io.StringIO(textwrap.dedent(source)).readline)
        if token.type not in (tokenize.COMMENT, tokenize.STRING)
    ]
    read: set[str] = set()
    defined: set[str] = set()
    for before, token, after in zip(tokens, tokens[1:], tokens[2:], strict=False):
        name = token.string
        if token.type != tokenize.NAME or not name.startswith("_") or name.startswith("__"):
            continue
        if name == "_":  # a value thrown away
            continue
        if before.string == ".":
            read.add(name)
            if after.string in ("=", ":"):
                defined.add(name)
        elif before.string in ("def", "class") or after.string in ("=", ":"):
            defined.add(name)
    return read, defined


def console_modules() -> list[ModuleType]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages([str(CONSOLE)], "console.")
        if info.name != "console.textual_compat" and not info.name.endswith("__main__")
    ]


def test_the_console_reads_nothing_private_of_textual_outside_this_module() -> None:
    textual_names: set[str] = set()
    for path in Path(textual.__file__).parent.rglob("*.py"):
        textual_names |= set().union(*code_names(path.read_text()))
    read: dict[str, set[str]] = {}
    defined: set[str] = set()
    for module in console_modules():
        read[module.__name__], own = code_names(inspect.getsource(module))
        defined |= own
    found = {name: sorted(names & textual_names - defined) for name, names in read.items()}
    assert {name: names for name, names in found.items() if names} == {}


@functools.cache
def names_of(cls: type) -> set[str]:
    """The private names a class's code reads or defines."""
    return set().union(*code_names(inspect.getsource(cls)))


def test_no_console_class_uses_a_private_name_of_its_textual_bases() -> None:
    """A method overriding a private one (`_on_idle`), or a private attribute read on self
    (`self._repaint_required`), is not found by the test above: the console defines the
    name too."""
    found: dict[str, list[str]] = {}
    for module in console_modules():
        for cls in vars(module).values():
            if not (inspect.isclass(cls) and issubclass(cls, MessagePump)):
                continue
            if cls.__module__ != module.__name__:
                continue
            textual_names = set().union(
                *(names_of(base) for base in cls.__mro__ if base.__module__.startswith("textual."))
            )
            if clash := sorted(names_of(cls) & textual_names):
                found[f"{module.__name__}.{cls.__name__}"] = clash
    assert found == {}
