"""Feature queries for OGC API - Features: filters, paging, and GeoJSON built by PostGIS in one statement."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time

from psycopg.errors import UndefinedTable
from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    Integer,
    LargeBinary,
    Table,
    Text,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.dialects.postgresql import JSONB, REGCLASS, aggregate_order_by
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, ProgrammingError
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid, NotFound
from layers import served, sqltext
from layers.catalog import data_table
from layers.crs import STORAGE_CRS, ServedCrs
from layers.history import DataAt
from layers.models import Layer
from layers.storage import attribute_columns

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 10
JSON_PAIRS = 50  # json_build_object takes at most 100 arguments


@dataclass
class ItemQuery:
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: int | None = None  # keyset cursor: only features with a larger fid (the `next` links carry it)
    bbox: tuple[float, float, float, float] | None = None  # longitude/latitude (CRS84 or EPSG:4326 turned round)
    area: bytes | None = None  # a bbox given in a projected CRS, as the EPSG:4326 polygon it covers (WKB)
    datetime_range: tuple[datetime | None, datetime | None] | None = None
    properties: dict[str, str] = field(default_factory=dict)  # original attribute name -> value
    filter_expression: object = None  # a SQLAlchemy condition from layers.cql
    at: DataAt | None = None  # the layer as it was at an instant (history.state_at), instead of now
    crs: ServedCrs = STORAGE_CRS  # the CRS the features are served in (Part 2's crs parameter)


def properties_json(table: Table):
    """json(b) of the attribute columns under their original names (keys are bound parameters)."""
    columns = attribute_columns(table)
    if not columns:
        return func.json_build_object()
    chunks = [columns[i:i + JSON_PAIRS] for i in range(0, len(columns), JSON_PAIRS)]
    parts = [func.json_build_object(*[x for c in chunk for x in (literal(c.info["name"]), c)]) for chunk in chunks]
    if len(parts) == 1:
        return parts[0]
    merged = cast(parts[0], JSONB)
    for part in parts[1:]:
        merged = merged.op("||")(cast(part, JSONB))
    return merged


def served_geometry(table: Table, crs: ServedCrs = STORAGE_CRS):
    """The geometry as served: in *crs*, on its grid (1e-7 degree, or 1 mm in a projected CRS), and still valid
    there.

    Rounding alone broke valid polygons (Natural Earth's Sudan: a self-intersection at 7 decimals). Snapping
    first shows what the client will get; the few that are invalid on the grid are rebuilt by
    ST_ReducePrecision, whose output is valid, on the grid and of the same dimension. Points need neither. A
    reprojected polygon is checked the same way: the transformation itself can move a vertex across an edge.
    """
    geom = crs.from_storage(table.c.geom)
    kind = table.c.geom.type.geometry_type
    if kind in ("POINT", "MULTIPOINT"):
        return geom
    snapped = func.ST_SnapToGrid(geom, crs.grid)
    if kind in ("LINESTRING", "MULTILINESTRING"):
        return snapped  # a snapped line is always valid: a part that collapses is dropped
    # Only polygons pay for the check (about 13 us each; a page of 100 parcels went from 2.9 to 4.1 ms of SQL).
    # ST_IsValidReason, not ST_IsValid: the latter writes a NOTICE for every invalid geometry it meets.
    return case((func.ST_IsValidReason(snapped) == "Valid Geometry", snapped),
                else_=func.ST_ReducePrecision(geom, crs.grid))


def feature_json(table: Table, crs: ServedCrs = STORAGE_CRS):
    return func.json_build_object(
        "type", "Feature",
        "id", table.c.fid,
        # Options 0: no "crs" member (PostGIS would name the SRID it computed in; Content-Crs names the CRS).
        "geometry", cast(func.ST_AsGeoJSON(served_geometry(table, crs), crs.decimals, 0), JSON),
        "properties", properties_json(table),
    )


def parse_limit(value: str | None) -> int:
    if value in (None, ""):
        return DEFAULT_LIMIT
    if not re.fullmatch(r"\d+", value) or not 1 <= int(value) <= MAX_LIMIT:
        raise Invalid(f"limit must be an integer from 1 to {MAX_LIMIT}", {"parameter": "limit"})
    return int(value)


def parse_offset(value: str | None) -> int:
    if value in (None, ""):
        return 0
    if not re.fullmatch(r"\d{1,18}", value):
        raise Invalid("offset must be a non-negative integer", {"parameter": "offset"})
    return int(value)


def parse_cursor(value: str | None) -> int | None:
    """The keyset cursor of a `next` link: the last feature id of the page before."""
    if value in (None, ""):
        return None
    if not re.fullmatch(r"\d{1,18}", value):
        raise Invalid("cursor must be a feature id from a next link", {"parameter": "cursor"})
    return int(value)


def parse_bbox(value: str | None, crs: ServedCrs = STORAGE_CRS):
    """The bbox parameter in *crs* (bbox-crs): longitude/latitude for CRS84 and for EPSG:4326, whose numbers come
    latitude first (minlat, minlon, maxlat, maxlon); a projected CRS's numbers as they are (the caller moves the
    box to EPSG:4326 with crs.stored_box)."""
    if not value:
        return None
    try:
        numbers = [float(v) for v in value.split(",")]
    except ValueError:
        raise Invalid("bbox must be 4 or 6 comma-separated numbers", {"parameter": "bbox"}) from None
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
        raise Invalid("bbox must be 4 or 6 comma-separated numbers", {"parameter": "bbox"})
    if not crs.is_geographic:
        return tuple(numbers)
    if crs.lat_lon:
        numbers = [numbers[1], numbers[0], numbers[3], numbers[2]]
    minx, miny, maxx, maxy = numbers
    if not (-180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        order = "minlat,minlon,maxlat,maxlon" if crs.lat_lon else "minlon,minlat,maxlon,maxlat"
        raise Invalid(f"bbox ({order} in {crs.title}) is outside -180..180 / -90..90 or has its minimum latitude "
                      "above its maximum", {"parameter": "bbox"})
    return minx, miny, maxx, maxy


def _instant(text: str) -> datetime | None:
    if text in ("..", ""):
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.min, UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"datetime {text!r} is not RFC 3339", {"parameter": "datetime"}) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_datetime(value: str | None):
    if not value:
        return None
    if "/" in value:
        start, _, end = value.partition("/")
        lo, hi = _instant(start), _instant(end)
        if lo and hi and lo > hi:
            raise Invalid("datetime interval ends before it starts", {"parameter": "datetime"})
        return lo, hi
    instant = _instant(value)
    if instant is None:
        raise Invalid("datetime '..' needs an interval", {"parameter": "datetime"})
    return instant, instant


def temporal_column(attributes: list[dict], table: Table):
    for attribute in attributes:
        if attribute["type"] in ("date", "timestamp"):
            return table.c[attribute["column"]]
    return None


def parse_value(attribute: dict, raw: str):
    kind = attribute["type"]
    try:
        if kind in ("integer", "bigint"):
            return int(raw)
        if kind == "double":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind == "boolean":
            if raw.lower() not in ("true", "false"):
                raise ValueError
            return raw.lower() == "true"
        if kind == "date":
            return date.fromisoformat(raw)
        if kind == "timestamp":
            return datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{attribute['name']} must be a {kind}", {"parameter": attribute["name"]}) from None
    return raw


def conditions(attributes: list[dict], table: Table, q: ItemQuery) -> list:
    where = []
    if q.bbox:
        minx, miny, maxx, maxy = q.bbox
        envelopes = [func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)]
        if minx > maxx:  # crosses the antimeridian
            envelopes = [func.ST_MakeEnvelope(minx, miny, 180, maxy, 4326),
                         func.ST_MakeEnvelope(-180, miny, maxx, maxy, 4326)]
        where.append(or_(*[func.ST_Intersects(table.c.geom, e) for e in envelopes]))
    if q.area is not None:
        area = func.ST_GeomFromWKB(bindparam("area", q.area, type_=LargeBinary), 4326)
        where.append(func.ST_Intersects(table.c.geom, area))
    if q.datetime_range:
        column = temporal_column(attributes, table)
        if column is None:
            raise Invalid("this collection has no temporal property to filter by datetime",
                          {"parameter": "datetime"})
        lo, hi = q.datetime_range
        if lo:
            where.append(column >= (lo.date() if column.type.python_type is date else lo.replace(tzinfo=None)))
        if hi:
            where.append(column <= (hi.date() if column.type.python_type is date else hi.replace(tzinfo=None)))
    by_name = {a["name"]: a for a in attributes}
    for name, raw in q.properties.items():
        attribute = by_name[name]
        where.append(table.c[attribute["column"]] == parse_value(attribute, raw))
    if q.filter_expression is not None:
        where.append(q.filter_expression)
    return where


def _run(conn: Connection, statement, params: dict):
    """Run a page statement (or its SQL text, see sqltext); None when a table it names is gone (the catalog entry
    behind it is stale)."""
    try:
        if isinstance(statement, str):
            return conn.exec_driver_sql(statement, params).first()
        return conn.execute(statement, params).first()
    except (DataError, ProgrammingError) as exc:
        if isinstance(exc.orig, UndefinedTable):
            return None
        # A filter comparing text with a number, say: the client's mistake, not ours.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid filter"
        raise Invalid(f"the query cannot be run: {reason}", {"parameter": "filter"}) from None


# numberMatched, as the collection's metadata states it (number_matched_policy).
CATALOG, COUNTED, LEFT_OUT = "catalog", "counted", "left out"


def number_matched_policy(count_limit: int) -> dict:
    """How numberMatched is given on this server's items pages (OGC API - Features lets a server leave it out when
    it is not known or costly; when given, it is exact)."""
    return {
        "withoutFilter": "exact: the catalog's count of the layer's features (a bbox holding the whole layer is "
                         "no filter)",
        "withFilter": f"exact when at most {count_limit:,} features match (counted with the page, in the same "
                      "statement) or on the last page; otherwise left out, and for a bbox alone "
                      "numberMatchedEstimate gives the planner's estimate",
        "nextPages": "left out on filtered pages reached by the cursor of a next link (counted on the first page)",
        "exactCountLimit": count_limit,
    }


@dataclass(frozen=True)
class PageText:
    """What Python knows of an items page, as JSON text that PostGIS writes into it: the time stamp, the links but
    `next`, and `next` cut where its cursor goes (the page's last id, which only the database knows)."""

    stamp: str
    links: str  # JSON objects separated by commas, without brackets
    next_head: str
    next_tail: str

    def params(self) -> dict:
        return {"stamp": self.stamp, "links": self.links, "next_head": self.next_head, "next_tail": self.next_tail}


def _text(value):
    return cast(value, Text)


def _page_statement(table: Table, where, matched: str, *, checked: bool, bbox=None, crs: ServedCrs = STORAGE_CRS):
    """The whole items page (a FeatureCollection with its counts and links) as JSON text, in one statement.

    The page's ids are found first (OFFSET/LIMIT over ids alone) and only those rows are turned into JSON:
    building JSON in the same query as OFFSET made a page cost every skipped row (6,910 JSON objects for
    a 10-row page at offset 6,900). One id beyond the page tells whether a next page exists. limit, offset
    and after (the keyset cursor: fid > after) are parameters. *checked*: nothing is read unless the catalog
    row still says what the caller's catalog entry says (served.still_valid); no row comes back then.
    *matched*: CATALOG (the :catalog_count parameter), COUNTED (number_matched_policy) or LEFT_OUT; with *bbox*
    (the envelope of a bbox-only filter) an uncounted match has the planner's estimate. Features are written in
    *crs*.
    """
    limit = bindparam("limit", type_=Integer)
    ids = (select(table.c.fid).where(where, table.c.fid > bindparam("after", type_=BigInteger))
           .order_by(table.c.fid).limit(limit + 1).offset(bindparam("offset", type_=Integer)).cte("ids"))
    # CTEs used more than once: PostgreSQL runs each once (a deep filtered offset is skipped once, not thrice).
    page_ids = select(ids.c.fid).order_by(ids.c.fid).limit(limit).cte("page_ids")
    page = select(feature_json(table, crs).label("f"), table.c.fid).join_from(
        page_ids, table, table.c.fid == page_ids.c.fid).subquery("page")
    # Text straight from PostGIS: no parsing and re-serialising of every feature in Python.
    features = func.coalesce(_text(func.json_agg(aggregate_order_by(page.c.f, page.c.fid))), "[]")
    parts = select(
        select(func.count()).select_from(page_ids).scalar_subquery().label("returned"),
        select(func.max(page_ids.c.fid)).scalar_subquery().label("last_fid"),
        (select(func.count()).select_from(ids).scalar_subquery() > limit).label("more"),
        select(features).scalar_subquery().label("features"))
    if checked:
        parts = parts.where(served.still_valid())
    # Materialised: each part is computed once, however often the text below names it.
    p = parts.cte("p").prefix_with("MATERIALIZED")
    body = func.concat(
        '{"type":"FeatureCollection"', _matched(table, where, p, matched, bbox),
        ',"numberReturned":', _text(p.c.returned), ',"timeStamp":"', bindparam("stamp", type_=Text),
        '","links":[', bindparam("links", type_=Text),
        case((p.c.more, func.concat(",", bindparam("next_head", type_=Text), _text(p.c.last_fid),
                                    bindparam("next_tail", type_=Text))), else_=""),
        '],"features":', p.c.features, "}")
    return select(body).select_from(p)


def _matched(table: Table, where, p, matched: str, bbox):
    if matched == CATALOG:
        return func.concat(',"numberMatched":', _text(bindparam("catalog_count", type_=BigInteger)))
    if matched == LEFT_OUT:
        return literal("", Text)
    # Exact without counting on the last page; else counted up to the limit, in the same statement.
    limit = bindparam("count_limit", type_=Integer)
    upto = select(literal(1)).select_from(table).where(where).limit(limit + 1).subquery("upto")
    counted = select(func.count().label("n")).select_from(upto).subquery("counted")
    beyond = literal("", Text)
    if bbox is not None:
        # The planner's own estimate of the bbox's matches, from the statistics ANALYZE keeps of the geometry.
        stats = exists_statistics(table)
        share = func._postgis_selectivity(cast(literal(f"{table.schema}.{table.name}"), REGCLASS), "geom", bbox)
        beyond = case((stats, func.concat(',"numberMatchedEstimate":', _text(func.round(
            share * bindparam("catalog_count", type_=BigInteger))))), else_="")
    exact_or_not = select(case((counted.c.n <= limit, func.concat(',"numberMatched":', _text(counted.c.n))),
                               else_=beyond)).scalar_subquery()
    last_page = and_(~p.c.more, p.c.returned > 0)
    return case(
        (last_page, func.concat(',"numberMatched":', _text(bindparam("offset", type_=Integer) + p.c.returned))),
        else_=exact_or_not)


def exists_statistics(table: Table):
    """SQL: ANALYZE has statistics of the table's geometry (the estimate fails without them)."""
    stats = sql_table("pg_stats", *(sql_column(name, Text) for name in ("schemaname", "tablename", "attname")))
    return exists(select(1).select_from(stats).where(stats.c.schemaname == table.schema,
                                                     stats.c.tablename == table.name, stats.c.attname == "geom"))


@functools.lru_cache(maxsize=512)
def _plain_statement(table: Table, with_bbox: bool, matched: str, checked: bool, crs: ServedCrs = STORAGE_CRS):
    """The common request (a bbox or nothing, paged) as one statement object per table version, shape and CRS;
    the bbox comes in as parameters."""
    where, envelope = true(), None
    if with_bbox:
        corners = [bindparam(name, type_=Float(53)) for name in ("minx", "miny", "maxx", "maxy")]
        envelope = func.ST_MakeEnvelope(*corners, 4326)
        where = func.ST_Intersects(table.c.geom, envelope)
    return _page_statement(table, where, matched, checked=checked, bbox=envelope, crs=crs)


def plain_page_sql(layer: served.Served, *, with_bbox: bool) -> tuple[str, dict]:
    """The SQL text (and constant parameters) of a layer's plain page, checked, as the server sends it: what
    bench/layers_bench.py has pgbench send too."""
    return sqltext.compiled(_plain_statement(layer.table, with_bbox, COUNTED if with_bbox else CATALOG, True))


def _covers(bbox, extent) -> bool:
    """Whether a bbox holds the whole layer: then it selects every feature (GIS clients often send the layer's
    extent, or more) and is no filter at all, so numberMatched is the catalog's count and offsets are keysets."""
    if not bbox or not extent or bbox[0] > bbox[2]:
        return False
    return bbox[0] <= extent[0] and bbox[1] <= extent[1] and bbox[2] >= extent[2] and bbox[3] >= extent[3]


def page_json(conn: Connection, layer, q: ItemQuery, text: PageText, *, count_limit: int,
              check: dict | None) -> str | None:
    """An items page of *layer* (a served.Served, or a Layer just read) as GeoJSON text written by PostGIS.

    With *check* (served.Served.check_params) the same statement checks the catalog entry: None when it is stale.
    numberMatched follows number_matched_policy: the catalog's count for an unfiltered layer; a filtered one is
    counted on a request without a cursor, up to *count_limit*; pages reached by the cursor of a next link leave
    it out (counting every match again on each page made a filtered download cost pages x matches).
    """
    if q.at is not None:
        return _page_at(conn, q, text, count_limit)
    table = data_table(layer)
    params = {"limit": q.limit, "offset": q.offset, "after": q.after or 0, "count_limit": count_limit,
              "catalog_count": layer.feature_count or 0, **text.params(), **(check or {})}
    bbox = None if _covers(q.bbox, layer.extent) else q.bbox
    plain = not (q.datetime_range or q.properties or q.filter_expression is not None or q.area is not None)
    unfiltered = plain and bbox is None
    matched = CATALOG if unfiltered else COUNTED if q.after is None else LEFT_OUT
    if unfiltered and q.offset:
        # An imported layer's fids are its row numbers 1..n (storage.create_and_load), so the n-th feature is
        # fid n, or n plus the ids deleted before it once features were deleted: an offset is a keyset either way.
        params.update(after=_fid_after(conn, layer, table, params["after"], q.offset), offset=0)
    if plain and (bbox is None or bbox[0] <= bbox[2]):
        sql, constants = sqltext.compiled(_plain_statement(table, bbox is not None, matched, check is not None,
                                                           q.crs))
        if bbox:
            params.update(zip(("minx", "miny", "maxx", "maxy"), bbox, strict=True))
        row = _run(conn, sql, {**constants, **params})
    else:
        # Filters of every shape: SQLAlchemy's own cache keeps the compiled statement per shape.
        where = and_(true(), *conditions(layer.attributes, table, replace(q, bbox=bbox)))
        row = _run(conn, _page_statement(table, where, matched, checked=check is not None, crs=q.crs), params)
    return row[0] if row is not None else None


# (data table, data version, last change) -> the ranges of ids below the largest that no feature holds: a data
# version never changes once it is current, so they are found once per edit, not once per page.
_GAPS: dict[tuple, list[tuple[int, int]]] = {}


def id_gaps(conn: Connection | Session, layer, table: Table) -> list[tuple[int, int]]:
    """The (first, last) ranges of ids missing from the layer's 1..max(fid), in order. None when max(fid) is the
    feature count (one step down the primary key's index: an import numbers its rows so); else one pass over the
    primary key's index (about 0.2 s for a million features), kept until the next change of the layer. A feature
    deleted in the workspace leaves a gap: fids are never reused, the history keeps them."""
    key = (table.name, layer.data_version, str(layer.updated_at))
    cached = _GAPS.get(key)
    if cached is not None:
        return cached
    if conn.execute(select(func.max(table.c.fid))).scalar() in (layer.feature_count, None):
        gaps = []
    else:
        previous = func.lag(table.c.fid, 1, 0).over(order_by=table.c.fid)
        ordered = select(table.c.fid, previous.label("previous")).subquery()
        gaps = [(first, last) for first, last in conn.execute(
            select(ordered.c.previous + 1, ordered.c.fid - 1).where(ordered.c.fid > ordered.c.previous + 1)
            .order_by(ordered.c.fid))]
    if len(_GAPS) > 256:
        _GAPS.clear()
    _GAPS[key] = gaps
    return gaps


def _fid_after(conn: Connection, layer, table: Table, after: int, offset: int) -> int:
    """The fid *offset* features after fid *after* (the keyset an unfiltered offset stands for): walking up from
    *after*, the ids no feature holds are stepped over."""
    position, remaining = after, offset
    for first, last in id_gaps(conn, layer, table):
        if last <= position:
            continue
        features_before_gap = max(first - position - 1, 0)
        if remaining <= features_before_gap:
            return position + remaining
        remaining -= features_before_gap
        position = last
    return position + remaining


def _page_at(conn: Connection, q: ItemQuery, text: PageText, count_limit: int) -> str:
    """A page of the layer as it was at q.at: the same statement over the rows valid then."""
    rows = q.at.rows
    if rows is None:  # the layer did not exist yet
        return (f'{{"type":"FeatureCollection","numberMatched":0,"numberReturned":0,"timeStamp":"{text.stamp}",'
                f'"links":[{text.links}],"features":[]}}')
    statement = _page_statement(rows, and_(true(), *conditions(q.at.attributes, rows, q)),
                                COUNTED if q.after is None else LEFT_OUT, checked=False, crs=q.crs)
    return _run(conn, statement, {"limit": q.limit, "offset": q.offset, "after": q.after or 0,
                                     "count_limit": count_limit, **text.params()})[0]


def served_page(conn: Connection, name: str, query: Callable[[served.Served], ItemQuery], text: PageText, *,
                staff: bool, count_limit: int) -> str:
    """The items page of the layer *name* as GeoJSON text, in one statement that also checks the process's catalog
    entry (served.serve: a stale one is reloaded and the statement run once more). *query* reads the request's
    parameters against the layer (its attributes name the property filters)."""

    def page(layer: served.Served, fresh: bool) -> str | None:
        try:
            q = query(layer)
        except Invalid:
            if fresh:
                raise
            return None  # an attribute the entry does not know yet? Ask the catalog itself.
        return page_json(conn, layer, q, text, count_limit=count_limit, check=layer.check_params(staff))

    return served.serve(conn, name, page, staff=staff)


@dataclass
class Item:
    feature_json: str
    change_id: int  # the change that made this state of the feature (its ETag)


def item(session: Session, layer: Layer, fid: str, at: DataAt | None = None,
         crs: ServedCrs = STORAGE_CRS) -> Item:
    """One feature as GeoJSON text in *crs*, now or as it was at an instant."""
    if not re.fullmatch(r"\d{1,18}", fid or ""):
        raise NotFound(f"no feature {fid!r}")
    table = data_table(layer) if at is None else at.rows
    row = None
    if table is not None:
        row = session.execute(select(cast(feature_json(table, crs), Text), table.c.change_id)
                              .where(table.c.fid == int(fid))).one_or_none()
    if row is None:
        when = f" at {at.at.isoformat()}" if at is not None else ""
        raise NotFound(f"no feature {fid!r} in {layer.name}{when}")
    return Item(feature_json=row[0], change_id=row[1])
