"""Shapes every resource family uses: pages, errors, roles."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer
from pydantic_core import to_jsonable_python

T = TypeVar("T")

# Where the API lives on a server; the contract's paths are relative to it.
API_PREFIX = "/api/v1"


def _iso_z(value: datetime) -> str:
    """ISO 8601 UTC with a trailing `Z`, as the contract fixes for every time."""
    if value.tzinfo is UTC:  # every time read from the database: the one conversion skipped
        return f"{value.isoformat()[:-6]}Z"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


UtcDatetime = Annotated[datetime, PlainSerializer(_iso_z, return_type=str, when_used="json")]


# Every model builds its validator and serializer when first used (`defer_build`): a program
# imports all of them and uses a few, and building one costs ~1 ms.


class ApiModel(BaseModel):
    """Base of every request and response model: unknown fields are refused, not ignored."""

    model_config = ConfigDict(
        extra="forbid", from_attributes=True, str_strip_whitespace=True, defer_build=True
    )


class ReadModel(BaseModel):
    """Base of response models: the client tolerates fields a newer server adds."""

    model_config = ConfigDict(extra="ignore", from_attributes=True, defer_build=True)


def jsonable(value: Any) -> Any:
    """`value` made of JSON types (pydantic_core.to_jsonable_python), models included:
    to_jsonable_python takes a model's serializer as it is, so one not built yet is built
    first."""
    _build_models(value)
    return to_jsonable_python(value)


def _build_models(value: Any) -> None:
    if isinstance(value, BaseModel):
        if not type(value).__pydantic_complete__:
            type(value).model_rebuild()  # its fields' models are part of its serializer
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            _build_models(item)
    elif isinstance(value, dict):
        for item in value.values():
            _build_models(item)


class Role(StrEnum):
    viewer = "viewer"
    admin = "admin"
    superadmin = "superadmin"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_ROLE_RANK = {Role.viewer: 0, Role.admin: 1, Role.superadmin: 2}


class Page(ReadModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int


class PageQuery(ApiModel):
    page: int = Field(1, ge=1, le=1_000_000)
    per_page: int = Field(50, ge=1, le=200)


class ErrorItem(ReadModel):
    loc: list[str | int]
    msg: str


class ErrorResponse(ReadModel):
    detail: str
    errors: list[ErrorItem] | None = None


class Message(ReadModel):
    detail: str


def _refusing_controls(excluded: str, allowed: str) -> Any:
    """A string constraint refusing control characters (C0, DEL, C1) but `allowed`: a NUL or
    an escape sequence in a name would reach terminals, logs and mails as it is. The schema
    states it as a pattern; the check here says it in words."""
    pattern = re.compile(f"[{excluded}]")

    def refuse(value: str) -> str:
        if pattern.search(value):
            raise ValueError(f"must not contain control characters{allowed}")
        return value

    return [AfterValidator(refuse), Field(json_schema_extra={"pattern": f"^[^{excluded}]*$"})]


_ONE_LINE = _refusing_controls(r"\u0000-\u001f\u007f-\u009f", "")
_LINES = _refusing_controls(
    r"\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f", " other than tabs and line breaks"
)
# One line of text a person reads back (names, titles, tags, hosts, URLs), and several lines.
OneLine = Annotated[str, *_ONE_LINE]
Lines = Annotated[str, *_LINES]

# Bounded text types: every string the API accepts has a ceiling, so huge inputs are a 400.
Name = Annotated[OneLine, Field(min_length=1, max_length=200)]
ShortText = Annotated[Lines, Field(max_length=500)]
Secret = Annotated[str, Field(min_length=1, max_length=1024)]
Token = Annotated[str, Field(min_length=1, max_length=4096)]

# Money travels as a decimal string ("12.34"), which pydantic does for Decimal in JSON.
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=6)]
