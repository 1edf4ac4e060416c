"""The demo city's part in the workflow: the report categories."""

from __future__ import annotations

from sqlalchemy.orm import Session

from reports.workflow.categories import ensure_default_categories


def categories_step(session: Session, context) -> str:
    return f"{ensure_default_categories(session)} categories"
