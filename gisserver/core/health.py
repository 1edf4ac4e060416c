"""GET /health: is the service able to reach PostGIS right now, and how are its read replicas?"""

from __future__ import annotations

from flask import Blueprint, current_app
from sqlalchemy import text

from gisserver.core.access import on_primary, open_to
from gisserver.core.http import db_session

bp = Blueprint("health", __name__)


def database_versions(session) -> dict:
    row = session.execute(
        text("SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis")
    ).one()
    return {"postgresql": row.pg, "postgis": row.postgis}


@bp.get("/health")
@open_to("everyone; database and PostGIS versions and each engine's state, no data and no addresses")
@on_primary("a server that cannot reach the primary cannot take reports: the balancer must take it out")
def health():
    # Connection failures raise OperationalError, which the error handler turns into 503. A replica that is down
    # or behind does not: reads then go to the primary, and the server still does its job.
    versions = database_versions(db_session())
    engines = [{"name": "primary", "status": "ok"}]
    # A replica's state is re-checked when it is a second old (a down one every few seconds): balancers asking
    # every second or two keep it fresh in this worker without waiting on a dead host at each ask.
    engines += [state.as_dict() for state in current_app.extensions["gisserver.db"].replicas.states()]
    return {"status": "ok", "database": versions, "engines": engines}, 200, {"Cache-Control": "no-store"}
