"""Small key/value facts about this installation (e.g. which demo data was loaded)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from gisserver.core.db import Base


class AppMeta(Base):
    __tablename__ = "app_meta"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[dict] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def get_meta(session: Session, key: str) -> dict | None:
    row = session.get(AppMeta, key)
    return row.value if row else None


def set_meta(session: Session, key: str, value: dict) -> None:
    stmt = insert(AppMeta).values(key=key, value=value)
    session.execute(
        stmt.on_conflict_do_update(index_elements=[AppMeta.key], set_={"value": value, "updated_at": func.now()})
    )
