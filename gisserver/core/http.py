"""Helpers views use to read requests strictly and answer consistently."""

from __future__ import annotations

import json
import logging
import math
import re
from contextlib import suppress
from datetime import UTC, date, datetime
from functools import wraps
from typing import Any
from urllib.parse import parse_qsl

from flask import Request, current_app, g, make_response, request
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import NotAcceptable
from werkzeug.formparser import FormDataParser
from werkzeug.routing import IntegerConverter

from gisserver.core.audit import set_context as set_audit_context
from gisserver.core.exceptions import Invalid, UnsupportedMedia
from gisserver.core.replicas import is_connection_problem, replica_gave_up

log = logging.getLogger(__name__)
MAX_JSON_DEPTH = 32
DATABASE_ID_MAX = 2**31 - 1  # ids are PostgreSQL integers


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every route: a number PostgreSQL's integer can hold, else the route does not match (404)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = 0, max: int | None = DATABASE_ID_MAX,  # noqa: A002
                 signed: bool = False):
        super().__init__(url_map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _check_depth(value: Any, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise Invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", code="invalid_json")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, "a JSON key")
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)
    elif isinstance(value, str):
        _check_text(value, "a JSON string")


def _check_text(value: str, where: str) -> None:
    # PostgreSQL text cannot hold NUL; refused here, it would fail deep in a query instead.
    if "\x00" in value:
        raise Invalid(f"{where} contains a NUL character", {"reason": "nul_character"})


NOT_UTF8 = "invalid_encoding"
# Bodies read as text: form posts and JSON or plain text. Files inside multipart bodies are data, not text.
TEXT_BODY_TYPES = ("application/x-www-form-urlencoded", "application/json", "application/csp-report")


def not_utf8(where: str) -> Invalid:
    return Invalid(f"{where} is not valid UTF-8", {"reason": "not_utf8"}, code=NOT_UTF8)


def _utf8(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise not_utf8(where) from None


def _check_query(raw: bytes, where: str) -> None:
    # Werkzeug keeps undecodable %-escapes as text; reading strictly tells the client what is wrong instead.
    try:
        parse_qsl(_utf8(raw, where), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise not_utf8(where) from None


def _is_text_body() -> bool:
    mimetype = request.mimetype
    return mimetype in TEXT_BODY_TYPES or mimetype.endswith("+json") or mimetype.startswith("text/")


class StrictFormDataParser(FormDataParser):
    """Form bodies read as UTF-8 or refused: Werkzeug would drop an undecodable urlencoded body without a word
    (the view then says a field is missing) and put U+FFFD into multipart fields."""

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        raw = stream.read()
        _check_query(raw, "the form body")
        return stream, self.cls(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)), self.cls()

    def _parse_multipart(self, stream, mimetype, content_length, options):
        stream, form, files = super()._parse_multipart(stream, mimetype, content_length, options)
        for name, value in form.items(multi=True):
            if "\ufffd" in f"{name or ''}{value or ''}":
                raise not_utf8(f"form field {str(name)[:40]!r}")
        return stream, form, files


class StrictRequest(Request):
    form_data_parser_class = StrictFormDataParser


def check_request_text() -> None:
    """Before every request: the path, query and body are UTF-8 text without NUL, else a 400 that says which."""
    _check_text(request.path, "the path")
    if b"%00" in request.query_string or b"\x00" in request.query_string:
        raise Invalid("the query string contains a NUL character", {"reason": "nul_character"})
    _check_query(request.query_string, "the query string")
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            _check_text(f"{name}{value}", f"form field {str(name)[:40]!r}")
    elif request.content_length and _is_text_body():
        _utf8(request.get_data(cache=True), "the body")


def parse_json_text(text: str | bytes) -> Any:
    """Parse JSON refusing NaN/Infinity and excessive nesting, with a 400 on any fault."""
    if isinstance(text, bytes):
        text = _utf8(text, "the body")
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise Invalid(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Invalid(f"malformed JSON: {exc}", code="invalid_json") from None
    _check_depth(value)
    return value


def json_body(required: bool = True) -> Any:
    """The request's JSON body, parsed strictly."""
    if not request.mimetype or not (request.mimetype == "application/json" or request.mimetype.endswith("+json")):
        if not required and not request.content_length:
            return None
        raise UnsupportedMedia("send the body as application/json")
    data = request.get_data(cache=True)
    if not data:
        if required:
            raise Invalid("request body is empty", code="invalid_json")
        return None
    return parse_json_text(data)


def finite_float(value: Any, name: str) -> float:
    """A float from user input, refusing NaN, infinities and non-numbers."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid(f"{name} must be a number", {"field": name}) from None
    if not math.isfinite(number):
        raise Invalid(f"{name} must be a finite number", {"field": name})
    return number


def int_arg(name: str, default: int) -> int:
    """A whole number from the query string, or `default` when it is absent or empty."""
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{name} must be a whole number", {"field": name}) from None


def date_arg(name: str) -> date | None:
    """An ISO date (YYYY-MM-DD) from the query string, or None when it is absent."""
    value = request.args.get(name)
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{name} must be a date (YYYY-MM-DD)", {"field": name}) from None


def datetime_arg(name: str, *, assume_utc: bool = False) -> datetime | None:
    """An ISO 8601 (W3C) date-time from the query string, a bare date meaning its midnight; None when absent.

    A time without an offset is refused, unless *assume_utc* (Open311 clients often send none and mean UTC).
    """
    value = request.args.get(name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} must be an ISO 8601 (W3C) date-time, e.g. 2026-01-31T08:00:00+07:00",
                      {"field": name}) from None
    if parsed.tzinfo is None:
        if not assume_utc:
            raise Invalid(f"{name} needs a time zone, e.g. 2026-01-31T08:00:00+07:00", {"field": name})
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def lonlat_args() -> tuple[float, float]:
    """A point from the query string's lon and lat, in degrees and in range."""
    lon = finite_float(request.args.get("lon"), "lon")
    lat = finite_float(request.args.get("lat"), "lat")
    if abs(lon) > 180 or abs(lat) > 90:
        raise Invalid("lon/lat out of range")
    return lon, lat


def bool_arg(name: str) -> bool | None:
    """true/false (also 1/0, yes/no) from the query string, or None when it is absent."""
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value.lower() in ("1", "true", "yes"):
        return True
    if value.lower() in ("0", "false", "no"):
        return False
    raise Invalid(f"{name} must be true or false", {"field": name})


def _database():
    return current_app.extensions["gisserver.db"]


def _reads_replica() -> bool:
    return bool(g.get("reads_replica")) and bool(_database().replica_urls)


def db_session():
    """The request's session (opened on first use, closed at teardown): on the primary, or for a view declared
    `on_replica` on a usable replica (where it can only read)."""
    if _reads_replica():
        return _replica_session(autocommit=False)
    return primary_session()


def primary_session():
    """The request's session on the primary whatever the view declares. Who is calling is checked here: a
    sign-out or a revoked token must take effect at once, which a replica some way behind would not promise."""
    if "db_session" not in g:
        g.db_session = _database().session()
        set_audit_context(g.db_session, _request_audit_context)
    elif g.get("db_session_reads_only"):
        raise RuntimeError("this request opened a read-only session; a view that writes must ask for db_session()")
    return g.db_session


def db_read_session():
    """The request's session for views that only read: each statement on its own, with no transaction.

    A request that already holds a transactional session (the caller's token was checked in it) keeps it, unless
    the view reads from a replica.
    """
    if _reads_replica():
        return _replica_session(autocommit=True)
    if "db_session" not in g:
        g.db_session = _database().read_session()
        g.db_session_reads_only = True
    return g.db_session


def db_read_connection():
    """The request's connection for reads that are Core statements only (each on its own, no transaction, no ORM
    session around it): a feature page, a tile. On a replica for a view declared `on_replica` when replicas are
    configured (through the replica's session); a request that already holds a session on the primary (the
    caller's token was checked in it) reads through that session's connection."""
    if _reads_replica():
        return db_read_session().connection()
    if "db_session" in g:
        return g.db_session.connection()
    if "db_read_connection" not in g:
        g.db_read_connection = _database().read_connection()
    return g.db_read_connection


def _replica_session(autocommit: bool):
    session = g.get("db_replica")
    if session is not None:
        if not autocommit and g.db_replica_autocommit:
            raise RuntimeError("this view asked for db_read_session() first; a view that needs a transaction "
                               "must ask for db_session() first")
        return session
    caller_check = g.get("db_session")
    if caller_check is not None and not g.get("db_session_reads_only"):
        caller_check.commit()  # ends the caller check's transaction: its connection goes back to the pool
    database = _database()
    if g.get("replica_refused"):
        session, replica = (database.read_session() if autocommit else database.session()), None
    else:
        session, replica = database.reader(autocommit=autocommit, min_lsn=written_lsn())
    g.db_replica, g.db_replica_on, g.db_replica_autocommit = session, replica, autocommit
    g.db_engine = replica.name if replica else "primary"
    return session


def run_on_replica(view, *args, **kwargs):
    """Run a view declared `on_replica`; if the replica fails under it (it went away, or cancelled a statement
    that conflicted with WAL it had to replay), run it again on the primary: it only reads, so once more is safe."""
    g.reads_replica = True
    try:
        return view(*args, **kwargs)
    except Exception as exc:
        replica = g.get("db_replica_on")
        if replica is None or not replica_gave_up(exc):
            raise
        if is_connection_problem(exc):
            _database().replicas.mark_down(replica, exc)
        log.warning("read on %s failed (%s); reading from the primary", replica.name, str(exc).splitlines()[0])
        _drop_replica_session(exc)
        g.replica_refused = True
        return view(*args, **kwargs)


def _drop_replica_session(exc: BaseException | None) -> None:
    g.pop("db_replica_on", None)
    _release(g.pop("db_replica", None), exc)


def _release(held, exc: BaseException | None) -> None:
    """Close a request's session or connection, rolled back first after an error. One whose connection died under
    it (PostgreSQL restarting, a replica gone) is dropped, not turned into a 500: the response may be decided by
    now, perhaps a 201 for a report already committed."""
    if held is None:
        return
    try:
        if exc is not None:
            held.rollback()
        held.close()
    except DBAPIError as error:
        log.warning("dropping a broken database connection: %s", str(error).splitlines()[0])
        with suppress(DBAPIError):
            held.invalidate()


# -- read-your-writes ---------------------------------------------------------------------------------------
# After a write the caller gets the primary's WAL position in a signed cookie; its reads on replicas wait for it
# (gisserver/core/replicas.py says why this and not a time of stickiness).

WRITTEN_COOKIE = "gisserver_written"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")


def _written_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="gisserver-written-lsn")


def _written_cookie_seconds() -> int:
    # Longer than a usable replica may be behind (plus the age of its last check): past it, any replica the
    # app still reads from has replayed the write.
    return int(_database().replicas.max_lag_s) + 5


def written_lsn() -> str | None:
    """The primary's WAL position after this caller's last write, when it wrote recently."""
    raw = request.cookies.get(WRITTEN_COOKIE)
    if not raw:
        return None
    try:
        lsn = _written_serializer().loads(raw, max_age=_written_cookie_seconds())
    except BadData:
        return None
    return lsn if isinstance(lsn, str) and _LSN.match(lsn) else None


def remember_writes(response):
    """After a request that changed something on the primary, hand the caller the position its reads must see."""
    database = _database()
    if (not database.replica_urls or request.method not in UNSAFE_METHODS or response.status_code >= 400
            or g.get("db_session") is None or g.get("db_session_reads_only")):
        return response
    try:
        lsn = database.current_lsn()
    except DBAPIError as exc:
        log.warning("could not read the WAL position after a write: %s", str(exc).splitlines()[0])
        return response
    response.set_cookie(WRITTEN_COOKIE, _written_serializer().dumps(lsn), max_age=_written_cookie_seconds(),
                        httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE") or request.is_secure))
    return response


def _request_audit_context() -> dict:
    principal = g.get("principal")
    actor = "anonymous" if principal is None else principal.actor
    return {"actor": actor, "remote_addr": request.remote_addr, "request_id": g.get("request_id")}


def close_db_session(exc: BaseException | None = None) -> None:
    _drop_replica_session(exc)
    _release(g.pop("db_read_connection", None), exc)
    g.pop("db_session_reads_only", None)
    _release(g.pop("db_session", None), exc)


# Every ?f= value some resource answers in; one a resource does not offer is a 406, anything else a 400.
FORMAT_NAMES = ("json", "geojson", "html", "tilejson")


def negotiate(offers: dict[str, str]) -> str:
    """The format to answer in, from ?f= or the Accept header, among *offers* ({name: media type}, the first is the
    default). A format the resource does not have is 406 Not Acceptable, never an answer in another one."""
    f = request.args.get("f")
    if f:
        if f in offers:
            return f
        if f in FORMAT_NAMES:
            raise NotAcceptable(f"this resource is not available as {f}; it is as {', '.join(offers)}")
        raise Invalid(f"f must be one of {', '.join(offers)}", {"parameter": "f"})
    if not request.headers.get("Accept"):
        return next(iter(offers))
    # The first offer wins ties (*/*), so a browser asking for HTML gets HTML, anything else the default.
    best = request.accept_mimetypes.best_match(list(offers.values()))
    if best is None:
        raise NotAcceptable(f"this resource is available as {', '.join(offers.values())}")
    return next(name for name, mimetype in offers.items() if mimetype == best)


CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "ETag, Content-Crs, X-Request-ID, X-Export-Notes",
}
CORS_PREFLIGHT = {
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, Accept-Language, If-None-Match",
    "Access-Control-Max-Age": "86400",
}


def allow_other_origins(response):
    """CORS for public read-only routes, so that a map client on another site can read what is public.

    Only answers made for an anonymous caller carry it: one made for a signed-in caller (a session cookie or a
    token) may hold what is theirs. With '*' and no Allow-Credentials, browsers send no cookie on these cross-origin
    reads anyway, and Authorization is not an allowed header, so a token cannot ride along either.
    """
    if request.method in ("GET", "HEAD", "OPTIONS") and g.get("principal") is None:
        response.headers.update(CORS_HEADERS)
        if request.method == "OPTIONS":
            response.headers.update(CORS_PREFLIGHT)
    return response


def readable_from_other_origins(view):
    """allow_other_origins for one view of a blueprint whose other routes must not get it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        return allow_other_origins(make_response(view(*args, **kwargs)))

    return wrapped
