"""Plans: what an organization may use (limits) and which modules it has."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db.base import Base


class Plan(Base):
    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    price_month_cents: Mapped[int] = mapped_column(default=0)
    price_year_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # {limit name: number or null for unlimited}; see shared.api.billing.Limit.
    limits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    modules: Mapped[list[str]] = mapped_column(JSON, default=list)
