"""GET /api/audit: the audit log, for administrators."""

from __future__ import annotations

from flask import Blueprint, request

from gisserver.accounts.auth import require_roles
from gisserver.core.access import on_primary
from gisserver.core.audit import recent_entries
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_session

bp = Blueprint("audit", __name__, url_prefix="/api/audit")
MAX_LIMIT = 1000
MAX_ID = 2**63 - 1  # bigint


@bp.get("")
@require_roles("admin")
@on_primary("admins, few: they see the newest entries at once")
def list_entries():
    try:
        limit = int(request.args.get("limit", 100))
        before = int(request.args["before"]) if "before" in request.args else None
    except ValueError:
        raise Invalid("limit and before must be integers") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    if before is not None and not 1 <= before <= MAX_ID:
        raise Invalid("before must be an entry id (a positive integer)")
    entries = recent_entries(
        db_session(), table=request.args.get("table"), actor=request.args.get("actor"), limit=limit, before_id=before
    )
    return {
        "entries": [
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "remote_addr": e.remote_addr,
                "request_id": e.request_id,
                "action": e.action,
                "table": e.table_name,
                "row_id": e.row_id,
                "changes": e.changes,
            }
            for e in entries
        ],
        "next_before": entries[-1].id if len(entries) == limit else None,
    }
