"""Shapes every resource family uses: pages, errors, roles."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    GetJsonSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, to_jsonable_python

T = TypeVar("T")

# Where the API lives on a server; the contract's paths are relative to it.
API_PREFIX = "/api/v1"


def _in_utc(value: datetime) -> datetime:
    """Every time is UTC, as the contract fixes; a naive one is taken as UTC. pydantic then
    writes it with a trailing `Z` itself: a serializer of ours cost a Python call per time
    written (a fifth of a 50-monitor page's serialization), this one a cheaper call on read."""
    if value.tzinfo is UTC:  # every time read from the database
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_in_utc)]


def _written_as(pattern: str, example: str) -> Any:
    """A query parameter's time or day must be written as the document's format says:
    pydantic alone also read a number (`to=0.5`) as seconds since 1970."""
    written = re.compile(pattern)

    def check(value: Any) -> Any:
        if isinstance(value, str) and not written.match(value):
            raise ValueError(f"must be written like {example}")
        return value

    return BeforeValidator(check)


QueryTime = Annotated[
    UtcDatetime, _written_as(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}", "2024-05-01T00:00:00Z")
]
QueryDate = Annotated[date, _written_as(r"\d{4}-\d{2}-\d{2}$", "2024-05-01")]


# Every model builds its validator and serializer when first used (`defer_build`): a program
# imports all of them and uses a few, and building one costs ~1 ms.


class ApiModel(BaseModel):
    """Base of every request and response model: unknown fields are refused, not ignored.

    Strings are taken as sent, not stripped: stripping made the lengths the document states
    count something else (a 201-character name of which one was a space passed a limit of
    200, a password of spaces failed a minimum of 1). A name must not be blank (`Name`)."""

    model_config = ConfigDict(extra="forbid", from_attributes=True, defer_build=True)


class UpdateModel(ApiModel):
    """Base of PATCH bodies. A change names at least one field, and the fields in `not_null`
    may be left out but not set to null (null clears only the optional settings). The
    schema states both (minProperties, no null), and validation refuses what it forbids."""

    not_null: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _a_change_without_nulls(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        errors = [
            InitErrorDetails(type=_NOT_NULL, loc=(name,), input=None)
            for name in sorted(cls.not_null)
            if name in data and data[name] is None
        ]
        if not data:
            errors.append(InitErrorDetails(type=_NO_CHANGE, loc=(), input=data))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        schema["minProperties"] = 1
        for name in cls.not_null:
            field = schema["properties"][name]
            field.pop("default", None)
            kept = [v for v in field.pop("anyOf", []) if v != {"type": "null"}]
            if len(kept) == 1:
                field.update(kept[0])
            elif kept:
                field["anyOf"] = kept
        return schema


_NOT_NULL = PydanticCustomError("not_null", "cannot be null")
_NO_CHANGE = PydanticCustomError("no_change", "must name at least one field to change")


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


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# Bounded text types: every string the API accepts has a ceiling, so huge inputs are a 400.
# A name has a character other than white space (the pattern says it too).
Name = Annotated[
    OneLine,
    AfterValidator(_not_blank),
    Field(
        min_length=1,
        max_length=200,
        json_schema_extra={
            "pattern": r"^[^\u0000-\u001f\u007f-\u009f]*[^\u0000-\u001f\u007f-\u009f\s]"
            r"[^\u0000-\u001f\u007f-\u009f]*$"
        },
    ),
]
ShortText = Annotated[Lines, Field(max_length=500)]
Secret = Annotated[str, Field(min_length=1, max_length=1024)]
Token = Annotated[str, Field(min_length=1, max_length=4096)]


def _any_case(word: str) -> str:
    return "".join(f"[{c}{c.upper()}]" for c in word)


# Addresses whose domain is a special-use name (RFC 6761: `.test`, `.local`...) are refused
# by the email validator as undeliverable; the pattern states it in the document.
_SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")
Email = Annotated[
    EmailStr,
    Field(
        max_length=254,
        json_schema_extra={
            "pattern": "^(?![\\s\\S]*[@.](?:"
            + "|".join(_any_case(name) for name in _SPECIAL_USE)
            + ")$)"
        },
    ),
]

# Money travels as a decimal string ("12.34"), which pydantic does for Decimal in JSON.
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=6)]
