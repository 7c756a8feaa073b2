"""`jsonable`: what `--json` prints and request bodies carry, for models whose serializer is
built on first use (the client parses lists of them without building their classes)."""

from __future__ import annotations

from pydantic import TypeAdapter

from shared.api.auth import ApiKeyRead
from shared.api.common import Page, jsonable
from shared.api.incidents import IncidentRead

KEY = {
    "id": 7,
    "name": "ci",
    "role": "viewer",
    "hint": "upk_****ab12",
    "created_at": "2026-01-01T00:00:00+00:00",
    "expires_at": None,
    "last_used_at": None,
}


def test_models_parsed_inside_a_list_become_json_types() -> None:
    keys = TypeAdapter(list[ApiKeyRead]).validate_python([KEY])
    assert jsonable(keys) == [{**KEY, "created_at": "2026-01-01T00:00:00Z"}]


def test_models_inside_a_mapping_and_a_page_become_json_types() -> None:
    keys = TypeAdapter(dict[str, ApiKeyRead]).validate_python({"ci": KEY})
    assert jsonable({"keys": keys})["keys"]["ci"]["role"] == "viewer"
    empty = TypeAdapter(Page[IncidentRead]).validate_python(
        {"items": [], "total": 0, "page": 1, "per_page": 50}
    )
    assert jsonable(empty) == {"items": [], "total": 0, "page": 1, "per_page": 50}
