"""HTTP handlers of /audit-logs: parse -> query -> serialize; the export is streamed."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from aiohttp import web
from pydantic import TypeAdapter

from server.audit import queries
from server.audit import service as audit
from server.context import SESSIONS
from server.http.auth import RATE_LIMIT_HEADERS
from server.http.errors import NotFound
from server.http.routing import Call
from shared.api.audit import AuditExportQuery, AuditLogRead, AuditSummary
from shared.api.common import Page

CSV_COLUMNS = (
    "id",
    "created_at",
    "user_id",
    "user_email",
    "action",
    "resource_type",
    "resource_id",
    "status",
    "ip",
    "user_agent",
    "detail",
)
# A spreadsheet runs a cell starting with one of these as a formula; a leading apostrophe
# makes it text (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_ENTRY = TypeAdapter(AuditLogRead)


async def list_logs(call: Call) -> Page[AuditLogRead]:
    """GET /audit-logs"""
    return await queries.page(call.db, call.auth.org_id, call.query)


async def summary(call: Call) -> AuditSummary:
    """GET /audit-logs/summary"""
    return await queries.summary(call.db, call.auth.org_id)


async def get_log(call: Call) -> AuditLogRead:
    """GET /audit-logs/{id}"""
    entry = await queries.one(call.db, call.auth.org_id, call.path["id"])
    if entry is None:
        raise NotFound("Audit log entry not found")
    return entry


async def export(call: Call) -> web.StreamResponse:
    """GET /audit-logs/export: CSV or a JSON array, written batch by batch as rows are read."""
    query: AuditExportQuery = call.query
    await _record_export(call, query)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    response = web.StreamResponse(
        headers={
            "Content-Disposition": f'attachment; filename="audit-log-{stamp}.{query.format}"',
            "Cache-Control": "no-store",
            **call.request.get(RATE_LIMIT_HEADERS, {}),
        }
    )
    response.content_type = "text/csv" if query.format == "csv" else "application/json"
    response.charset = "utf-8"
    await response.prepare(call.request)
    if query.format == "csv":
        await response.write(_csv_lines([CSV_COLUMNS]))
    else:
        await response.write(b"[")
    first = True
    async for entries in queries.batches(call.db, call.auth.org_id, query):
        if query.format == "csv":
            await response.write(_csv_lines(_csv_row(entry) for entry in entries))
        else:
            chunk = b",".join(_ENTRY.dump_json(entry) for entry in entries)
            await response.write(chunk if first else b"," + chunk)
        first = False
    if query.format == "json":
        await response.write(b"]")
    await response.write_eof()
    return response


async def _record_export(call: Call, query: AuditExportQuery) -> None:
    """Audit the export in its own short transaction, committed before streaming starts.

    The request's transaction stays read-only, so a long download never holds the
    database's write lock (SQLite has one for the whole file), and an export that is
    broken off by the client is still on record.
    """
    filters = query.model_dump(by_alias=True, exclude_none=True, exclude={"format"})
    detail = f"format={query.format}" + "".join(f", {k}={v}" for k, v in filters.items())
    async with call.request.app[SESSIONS]() as db, db.begin():
        await audit.record(
            dataclasses.replace(call.ctx, db=db), action="audit_log.exported", detail=detail
        )


def _csv_row(entry: AuditLogRead) -> list[str]:
    values = entry.model_dump(mode="json")
    return [_csv_cell(values[column]) for column in CSV_COLUMNS]


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_lines(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")
