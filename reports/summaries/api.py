"""HTTP API of the summaries: figures, the records behind them, exports, the leader map, dossier uploads."""

from __future__ import annotations

from flask import Blueprint, Response, request

from gisserver.accounts.auth import current_principal, require_roles, require_scope
from gisserver.core.access import on_primary, on_replica
from gisserver.core.exceptions import Invalid
from gisserver.core.http import db_session
from reports.summaries import exports, labels
from reports.summaries.dossiers import import_dossiers
from reports.summaries.figures import records, summarize
from reports.summaries.forms import label_tables, rank_by, record_filter, summary_query
from reports.summaries.indicator_map import indicator_map

bp = Blueprint("summaries", __name__, url_prefix="/api")
MIME = {"csv": "text/csv", "pdf": "application/pdf",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def download(body: bytes, fmt: str, name: str) -> Response:
    return Response(body, mimetype=MIME[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}.{fmt}"', "X-Content-Type-Options": "nosniff"})


@bp.get("/summaries/<code>")
@require_roles("leader")
@on_replica
def get_summary(code: str):
    return summarize(db_session(), current_principal(), summary_query(code), rank_by=rank_by())


@bp.get("/summaries/<code>/export.<fmt>")
@require_roles("leader")
@on_replica
def export_summary(code: str, fmt: str):
    if fmt not in MIME:
        raise Invalid("export as csv, xlsx or pdf", {"field": "format"})
    summary = summarize(db_session(), current_principal(), summary_query(code), rank_by=rank_by())
    name = f"summary-{summary['area']['code']}-{summary['period']['from']}-{summary['period']['to']}"
    if fmt == "pdf":
        return download(exports.summary_pdf(summary, label_tables(), str(labels.WORDS["summary_title"]),
                                            labels.language()), fmt, name)
    sheets = exports.summary_sheets(summary, label_tables(), labels.english())
    if fmt == "xlsx":
        return download(exports.to_xlsx(sheets, labels.language()), fmt, name)
    table = request.args.get("table") or "children"
    chosen = [s for s in sheets if s.key == table]
    if not chosen:
        raise Invalid(f"table must be one of {', '.join(s.key for s in sheets)}", {"field": "table"})
    return download(exports.to_csv(chosen[0]), fmt, f"{name}-{table}")


@bp.get("/summaries/<code>/records")
@bp.get("/summaries/<code>/records.<fmt>")
@require_roles("leader")
@on_replica
def get_records(code: str, fmt: str = "json"):
    if fmt not in ("json", "csv", "xlsx"):
        raise Invalid("records come as json, csv or xlsx", {"field": "format"})
    page = records(db_session(), current_principal(), summary_query(code), record_filter())
    if fmt == "json":
        return {"area": page.area, "period": page.period, "filter": page.filter, "total": page.total,
                "page": page.page, "per_page": page.per_page, "items": page.items}
    sheet = exports.records_sheet(page, label_tables(), labels.english())
    name = f"records-{page.area['code']}-{page.filter['source']}-{page.filter['measure']}"
    return download(exports.to_csv(sheet) if fmt == "csv" else exports.to_xlsx([sheet], labels.language()), fmt, name)


@bp.get("/summaries/<code>/map")
@require_roles("leader")
@on_replica
def get_map(code: str):
    return indicator_map(db_session(), current_principal(), summary_query(code), rank_by())


@bp.post("/dossiers/import")
@require_scope("dossiers:import", "admin")
@on_primary("writes dossiers")
def upload_dossiers():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise Invalid("send the export as a multipart file field named 'file'", {"field": "file"})
    session = db_session()
    result = import_dossiers(session, upload.read(), upload.filename)
    session.commit()
    return result.as_dict(), 201
