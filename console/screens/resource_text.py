"""How the console writes a resource, its state and its actions, for the resources view and
the resource detail alike."""

from __future__ import annotations

from rich.text import Text

from shared.api.resources import ResourceActionName, ResourceRead

VERBS: dict[ResourceActionName, tuple[str, str]] = {  # asking, and under way
    ResourceActionName.start: ("Start", "Starting"),
    ResourceActionName.stop: ("Stop", "Stopping"),
    ResourceActionName.reboot: ("Reboot", "Rebooting"),
}

# Glyph and theme variable per provider state; a state not listed reads by its word.
_RUNNING = ("●", "success")
_CHANGING = ("◐", "warning")
_STOPPED = ("■", "secondary")
_GONE = ("✗", "secondary")
_BROKEN = ("▲", "error")
STATE_STYLES: dict[str, tuple[str, str]] = {
    **dict.fromkeys(("running", "available", "active", "in-use"), _RUNNING),
    **dict.fromkeys(
        (
            "pending",
            "starting",
            "stopping",
            "rebooting",
            "shutting-down",
            "provisioning",
            "modifying",
            "creating",
            "backing-up",
            "upgrading",
            "maintenance",
        ),
        _CHANGING,
    ),
    **dict.fromkeys(("stopped", "inactive"), _STOPPED),
    **dict.fromkeys(("terminated", "deleted", "deleting"), _GONE),
    **dict.fromkeys(("failed", "error", "incompatible-parameters", "storage-full"), _BROKEN),
}


def state_text(state: str, colors: dict[str, str] | None = None) -> Text:
    """`● running`, `■ stopped`...; coloured from the theme's variables when given."""
    glyph, variable = STATE_STYLES.get(state.lower(), ("·", "foreground"))
    return Text(f"{glyph} {state}", style=(colors or {}).get(variable, ""))


def describe(resource: ResourceRead) -> str:
    """`web-1 (ec2_instance i-0abc in eu-west-1, prod account)`."""
    return (
        f"{resource.name} ({resource.type.value} {resource.provider_id} in {resource.region}, "
        f"{resource.account_name})"
    )
