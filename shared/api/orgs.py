"""The organization, its branding and its settings."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.api.common import Name, ReadModel, UpdateModel, UtcDatetime

HexColour = str


class OrganizationRead(ReadModel):
    id: int
    name: str
    slug: str
    plan: str
    status: str
    brand_name: str | None
    brand_primary_color: str | None
    brand_accent_color: str | None
    has_logo: bool
    created_at: UtcDatetime


_COLOUR = r"^#[0-9a-fA-F]{6}$"


class OrganizationUpdate(UpdateModel):
    name: Name | None = None
    slug: str | None = Field(None, min_length=2, max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$")
    brand_name: Name | None = None
    brand_primary_color: str | None = Field(None, pattern=_COLOUR)
    brand_accent_color: str | None = Field(None, pattern=_COLOUR)


DiscoveryInterval = Literal["1h", "6h", "12h", "24h"]


class SettingsRead(ReadModel):
    discovery_auto: bool = True
    discovery_interval: DiscoveryInterval = "24h"
    default_check_interval_seconds: int = 60
    cloudwatch_polling: bool = False
    cloudwatch_interval_seconds: int = 300
    ssh_key_counts_as_mfa: bool = Field(
        False,
        description=(
            "whether an SSH key counts as the second factor of members with MFA on "
            "(`upmetr ssh-serve` then asks them no code)"
        ),
    )


class SettingsUpdate(UpdateModel):
    discovery_auto: bool | None = None
    discovery_interval: DiscoveryInterval | None = None
    default_check_interval_seconds: int | None = Field(None, ge=10, le=86_400)
    cloudwatch_polling: bool | None = None
    cloudwatch_interval_seconds: int | None = Field(None, ge=60, le=86_400)
    ssh_key_counts_as_mfa: bool | None = None
