"""On PostgreSQL every integer column is 64-bit, as it is on SQLite, and so is their sum.

SQLite's INTEGER holds 8 bytes, and the schema counts on it: check times are epoch
microseconds (server/monitors/columns.py), ids come from 64-bit sequences, and an id in a
URL may be any 64-bit number (server/audit/queries.py). PostgreSQL's INTEGER holds 4. The
models say `Int64` (server/db/base.py), BIGINT there, so their parameters are bound as
`$1::BIGINT`; the migrations say `sa.Integer()`, which these compilation rules make a
BIGINT column (BIGSERIAL for an autoincrement key) on PostgreSQL. Nothing changes on
SQLite. Imported by server/db/engine.py, hence by every engine and migration.
https://docs.sqlalchemy.org/en/20/core/compiler.html
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.schema import CreateColumn
from sqlalchemy.sql import functions
from sqlalchemy.sql.compiler import DDLCompiler, SQLCompiler, TypeCompiler


@compiles(Integer, "postgresql")
def _integer_column_is_bigint(type_: Integer, compiler: TypeCompiler, **kw: Any) -> str:
    # Only a column's type: a cast or a bound parameter keeps PostgreSQL's INTEGER, which
    # functions such as generate_subscripts() want (SQLAlchemy's own reflection calls it).
    if isinstance(kw.get("type_expression"), Column):
        return "BIGINT"
    return compiler.visit_integer(type_, **kw)  # type: ignore[attr-defined]


@compiles(CreateColumn, "postgresql")
def _serial_is_bigserial(create: CreateColumn, compiler: DDLCompiler, **kw: Any) -> str:
    text: str = compiler.visit_create_column(create, **kw)
    # PostgreSQL's dialect writes SERIAL for an Integer autoincrement key: the sequence and
    # the column would be 32-bit (postgresql/base.py, get_column_specification).
    return text.replace(" SERIAL", " BIGSERIAL", 1)


@compiles(functions.sum, "postgresql")
def _sum_of_integers_is_an_integer(
    sum_: functions.sum[Any], compiler: SQLCompiler, **kw: Any
) -> str:
    text: str = compiler.visit_function(sum_, **kw)
    # PostgreSQL sums BIGINTs as NUMERIC (asyncpg hands back a Decimal, which Python's
    # float arithmetic refuses); SQLite sums integers as an integer, overflowing past 64
    # bits, and so does this.
    if isinstance(sum_.type, Integer):
        return f"CAST({text} AS BIGINT)"
    return text
