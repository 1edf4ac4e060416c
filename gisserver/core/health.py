"""GET /health: is the service able to reach PostGIS right now?"""

from __future__ import annotations

from flask import Blueprint
from sqlalchemy import text

from gisserver.core.access import open_to
from gisserver.core.http import db_session

bp = Blueprint("health", __name__)


def database_versions(session) -> dict:
    row = session.execute(
        text("SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis")
    ).one()
    return {"postgresql": row.pg, "postgis": row.postgis}


@bp.get("/health")
@open_to("everyone; database and PostGIS versions, no data")
def health():
    # Connection failures raise OperationalError, which the error handler turns into 503.
    versions = database_versions(db_session())
    return {"status": "ok", "database": versions}, 200, {"Cache-Control": "no-store"}
