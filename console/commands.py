"""The `:` command line: what each word means, with k9s-style aliases."""

from __future__ import annotations

import re
from dataclasses import dataclass

# View name -> the words that open it (the name itself always works).
VIEW_ALIASES: dict[str, tuple[str, ...]] = {
    "dashboard": ("dash", "d", "home"),
    "incidents": ("inc", "incident", "i"),
    "monitors": ("mon", "monitor", "m"),
    "audit": ("audit-log", "audit-logs", "log", "logs"),
    "resources": ("res", "resource", "r"),
    "costs": ("cost", "c"),
    "budgets": ("bud", "budget", "b"),
    "notifications": ("notif", "notification", "inbox", "n"),
    "channels": ("chan", "channel", "ch", "rules", "rule"),  # the rules are in its view
    "hosts": ("host", "agents", "agent", "ho"),
    "alerts": ("alert", "alert-rules", "alert-rule", "ar"),
    "status": ("status-pages", "status-page", "pages", "sp"),
    "admin": ("platform", "adm"),
    "billing": ("bill", "plan", "subscription", "invoices"),
    "help": ("h", "?", "keys"),
}
DEFAULT_VIEW = "dashboard"  # where the console opens
QUIT_WORDS = ("q", "q!", "quit", "exit")
ORG_WORDS = ("org", "orgs", "ctx", "context")


def short_word(view: str) -> str:
    """The shortest word of at least three letters that opens `view` and starts its name
    (`mon` for monitors): what the prompt's hint lists."""
    words = [word for word in (view, *VIEW_ALIASES[view]) if view.startswith(word)]
    return min((word for word in words if len(word) >= 3), key=len, default=view)


# Views the prompt's hint leaves out: at 80 columns the prompt has 74 cells for the hint
# and `(tab completes)`. Tab completes them and the help view lists them.
UNHINTED = frozenset({"alerts", "status", "admin", "billing"})
# The commands the prompt knows, in the order its hint lists them; a space apart, so that
# the hint of every view fits the prompt at 80 columns.
COMMAND_HINT = " ".join(
    [*(short_word(view) for view in VIEW_ALIASES if view not in UNHINTED), ORG_WORDS[0], "q"]
)
# What the prompt completes to: whole names first, so `m` offers `monitors`.
COMPLETIONS = (*VIEW_ALIASES, *ORG_WORDS, "quit")


@dataclass(frozen=True)
class Command:
    """What a command line asks for: `verb` is view, quit, org or unknown; `rest` is what
    follows a view's name (`:res type=ec2_instance` hands `type=ec2_instance` to the view)."""

    verb: str
    argument: str = ""
    rest: str = ""


def parse_command(line: str) -> Command:
    word, _, rest = line.strip().lstrip(":").partition(" ")
    word = word.lower()
    if word in QUIT_WORDS:
        return Command("quit")
    if word in ORG_WORDS:
        return Command("org", rest.strip())
    for view, aliases in VIEW_ALIASES.items():
        if word == view or word in aliases:
            return Command("view", view, rest.strip())
    return Command("unknown", word)


@dataclass(frozen=True)
class RowFilter:
    """A `/` filter: a case-insensitive regex over a row's text; `!` in front inverts it.

    Text that is not a valid regex is matched literally, so `/[` filters instead of failing.
    """

    pattern: re.Pattern[str] | None = None
    inverted: bool = False
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> RowFilter:
        inverted = text.startswith("!")
        body = text[1:] if inverted else text
        if not body:
            return cls(text=text)
        try:
            pattern = re.compile(body, re.IGNORECASE)
        except re.error:
            pattern = re.compile(re.escape(body), re.IGNORECASE)
        return cls(pattern, inverted, text)

    def keeps(self, row_text: str) -> bool:
        if self.pattern is None:
            return True
        return bool(self.pattern.search(row_text)) != self.inverted
