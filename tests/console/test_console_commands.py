"""The `:` command words, the `/` filter and the console's preferences file."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.commands import Command, RowFilter, parse_command
from console.preferences import MONO_THEME, load_preferences


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("inc", Command("view", "incidents")),
        (":mon", Command("view", "monitors")),
        ("dash", Command("view", "dashboard")),
        ("Audit", Command("view", "audit")),
        ("q", Command("quit")),
        ("q!", Command("quit")),
        ("ctx", Command("org")),
        ("pods", Command("unknown", "pods")),
    ],
)
def test_command_words_and_their_aliases(line: str, command: Command) -> None:
    assert parse_command(line) == command


def test_filter_is_a_case_insensitive_regex() -> None:
    keep = RowFilter.parse(r"DB-\d")
    assert keep.keeps("db-1 disk full")
    assert not keep.keeps("web latency")


def test_an_exclamation_mark_inverts_the_filter() -> None:
    drop = RowFilter.parse("!db")
    assert not drop.keeps("db-1 disk full")
    assert drop.keeps("web latency")


def test_text_that_is_not_a_regex_is_matched_literally() -> None:
    assert RowFilter.parse("[warn").keeps("log [warn] x")
    assert not RowFilter.parse("[warn").keeps("warn")


def test_an_empty_filter_keeps_everything() -> None:
    assert RowFilter.parse("").keeps("anything")
    assert RowFilter.parse("!").keeps("anything")


def test_preferences_read_theme_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "console.toml"
    path.write_text('theme = "nord"\n[keys]\n"incidents.acknowledge" = "A"\n', encoding="utf-8")
    preferences = load_preferences(path)
    assert preferences.theme == "nord"
    assert preferences.keys == {"incidents.acknowledge": "A"}


def test_no_color_picks_the_monochrome_theme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert load_preferences(tmp_path / "absent.toml").theme == MONO_THEME


def test_a_broken_preferences_file_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "console.toml"
    path.write_text("[keys]\nacknowledge = 3\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"console\.toml"):
        load_preferences(path)
