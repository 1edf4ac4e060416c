"""Administrative areas: import from boundary files, point -> area lookup, mergers and splits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import geopandas as gpd
import shapely
from geoalchemy2.shape import from_shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.core import features
from gisserver.core.exceptions import Conflict, Invalid, NotFound
from reports.areas import sql as geo
from reports.areas.models import AREA_LEVELS, Area, AreaChange, AreaChangeLink, AreaParentHistory

# Hook run after a merger or split with (session, retired area ids, new areas, effective date).
AREA_CHANGED = "area_changed"
PARENT_LEVEL = {"ward": "city", "group": "ward"}
SIBLING_TOLERANCE_M2 = 50.0
# Boundaries imported without a start date are taken as always valid, so history can be filed in them.
SINCE_EVER = date(1900, 1, 1)


@dataclass
class AreaImportResult:
    level: str
    created: int = 0
    updated: int = 0
    problems: list[dict] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"level": self.level, "created": self.created, "updated": self.updated, "problems": self.problems}


def _read(source, *, layer=None, crs=None, province=None) -> gpd.GeoDataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        if source.crs is None:
            raise Invalid("the boundaries have no coordinate system; name one")
        return source.to_crs(4326)
    from layers.importing import read_vector_file  # the one reader of planning files

    return read_vector_file(Path(source), layer=layer, crs=crs, province=province).frame


def _multipolygon(geom, code: str):
    if geom is None or geom.is_empty:
        raise Invalid(f"area {code} has no boundary")
    geom = shapely.make_valid(geom)
    polygons = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    if not polygons:
        raise Invalid(f"area {code} is not a polygon ({geom.geom_type})")
    return shapely.MultiPolygon(polygons)


def import_areas(
    session: Session,
    source,
    *,
    level: str,
    code_col: str = "code",
    name_col: str = "name",
    parent_code_col: str | None = None,
    valid_from: date | None = None,
    refuse_problems: bool = False,
    layer: str | None = None,
    crs: str | None = None,
) -> AreaImportResult:
    """Create or update the areas of one level from a GeoDataFrame or any boundary file layers/ reads.

    Gaps and overlaps between siblings are returned as problems (or refused with *refuse_problems*).
    """
    if level not in AREA_LEVELS:
        raise Invalid(f"level must be one of {', '.join(AREA_LEVELS)}")
    frame = _read(source, layer=layer, crs=crs)
    missing = [c for c in (code_col, name_col, parent_code_col) if c and c not in frame.columns]
    if missing:
        raise Invalid(f"column(s) not in the file: {', '.join(missing)}", {"columns": sorted(map(str, frame.columns))})
    if level != "city" and not parent_code_col:
        raise Invalid(f"a {level} needs a parent: name the parent code column")
    codes = frame[code_col].astype(str).str.strip()
    if codes.eq("").any() or codes.duplicated().any():
        raise Invalid("area codes must be present and unique", {"duplicates": sorted(set(codes[codes.duplicated()]))})

    parents: dict[str, Area] = {}
    if parent_code_col:
        wanted = set(frame[parent_code_col].astype(str).str.strip())
        rows = session.scalars(select(Area).where(Area.code.in_(wanted), Area.valid_to.is_(None)))
        parents = {a.code: a for a in rows}
        unknown = sorted(wanted - parents.keys())
        if unknown:
            raise Invalid("unknown parent area code(s)", {"codes": unknown[:50]})
        wrong = sorted(c for c, a in parents.items() if a.level != PARENT_LEVEL[level])
        if wrong:
            raise Invalid(f"parent(s) of a {level} must be a {PARENT_LEVEL[level]}", {"codes": wrong})

    existing = {a.code: a for a in session.scalars(select(Area).where(Area.code.in_(list(codes))))}
    result = AreaImportResult(level=level)
    for code, (_, row) in zip(codes, frame.iterrows(), strict=True):
        geom = from_shape(_multipolygon(row.geometry, code), srid=4326)
        parent = parents[str(row[parent_code_col]).strip()] if parent_code_col else None
        area = existing.get(code)
        if area is not None and area.valid_to is not None:
            raise Conflict(f"area {code} was retired by a boundary change; use a new code")
        if area is None:
            area = Area(code=code, level=level, valid_from=valid_from or SINCE_EVER)
            session.add(area)
            result.created += 1
        elif area.level != level:
            raise Conflict(f"area {code} exists as a {area.level}")
        else:
            result.updated += 1
        area.name = str(row[name_col]).strip()
        area.parent_id = parent.id if parent else None
        area.geom = geom
    session.flush()
    result.problems = geo.sibling_problems(session, level, SIBLING_TOLERANCE_M2)
    if refuse_problems and result.problems:
        raise Invalid("the boundaries have gaps or overlaps", {"problems": result.problems[:100]})
    return result


def area_chain_for_point(session: Session, lon: float, lat: float, on: date | None = None) -> list[Area]:
    """The areas containing a point on a date (today by default), deepest first; [] outside the city."""
    ids = geo.area_chain_ids(session, lon, lat, on or date.today())
    if not ids:
        return []
    by_id = {a.id: a for a in session.scalars(select(Area).where(Area.id.in_(ids)))}
    return [by_id[i] for i in ids]


def area_by_code(session: Session, code: str) -> Area:
    area = session.scalar(select(Area).where(Area.code == code))
    if area is None:
        raise NotFound(f"no area with code {code!r}")
    return area


def list_areas(session: Session, *, level: str | None = None, parent_code: str | None = None,
               include_retired: bool = False) -> list[Area]:
    query = select(Area).order_by(Area.code)
    if level:
        if level not in AREA_LEVELS:
            raise Invalid(f"level must be one of {', '.join(AREA_LEVELS)}")
        query = query.where(Area.level == level)
    if parent_code:
        query = query.where(Area.parent_id == area_by_code(session, parent_code).id)
    if not include_retired:
        query = query.where(Area.valid_to.is_(None))
    return list(session.scalars(query))


def ancestors(session: Session, area: Area) -> list[Area]:
    """The area and its parents up to the city."""
    chain = [area]
    while chain[-1].parent_id is not None:
        chain.append(session.get(Area, chain[-1].parent_id))
    return chain


def place_name(session: Session, area: Area) -> str:
    """The area as residents name it, without the city: "Residential group 11, Phu Xuan ward" (a group's name
    alone repeats in every ward); empty for the city itself."""
    return _without_city([(a.name, a.level) for a in ancestors(session, area)])


def _without_city(chain: list[tuple[str, str]]) -> str:
    """(name, level) of an area and its parents, joined as residents name the place."""
    return ", ".join(name for name, level in chain if level != "city")


def place_name_by_id(session: Session, area_id: int) -> str | None:
    """place_name of the area with this id (its own name for the city), in one query; None when there is none."""
    return place_name_of_chain(geo.area_chain_names(session, area_id))


def place_name_of_chain(chain: list[tuple[str, str]]) -> str | None:
    """place_name_by_id for a chain read already: (name, level) of an area and its parents, deepest first."""
    if not chain:
        return None
    return _without_city(chain) or chain[0][0]


def record_area_change(
    session: Session, kind: str, effective_date: date, old_codes: list[str], new_codes: list[str], note: str = ""
) -> AreaChange:
    """Retire the old areas on a date, link them to the new ones and move reports' current area.

    The new areas must already exist (imported with valid_from = effective_date). Reports keep the
    area they were filed in; their current area follows the change.
    """
    if kind not in ("merge", "split", "rename"):
        raise Invalid("kind must be merge, split or rename")
    if not old_codes or not new_codes:
        raise Invalid("a change needs old and new areas")
    old = [area_by_code(session, c) for c in old_codes]
    new = [area_by_code(session, c) for c in new_codes]
    if kind == "merge" and len(new) != 1:
        raise Invalid("a merger has exactly one new area")
    if kind == "split" and len(old) != 1:
        raise Invalid("a split has exactly one old area")
    for area in old:
        if area.valid_to is not None:
            raise Conflict(f"area {area.code} was already retired on {area.valid_to}")
        if area.valid_from >= effective_date:
            raise Invalid(f"area {area.code} starts on {area.valid_from}, after the change")
    for area in new:
        if area.valid_from > effective_date:
            raise Invalid(f"area {area.code} only starts on {area.valid_from}")
    change = AreaChange(kind=kind, effective_date=effective_date, note=note)
    session.add(change)
    session.flush()
    for o in old:
        for n in new:
            session.add(AreaChangeLink(change_id=change.id, old_area_id=o.id, new_area_id=n.id))
    retired = geo.area_subtree_ids(session, [a.id for a in old])
    # Children of a retired area retire with it unless the change keeps them under a new parent.
    for area in session.scalars(select(Area).where(Area.id.in_(retired))):
        if area.valid_to is None and (area in old or area.parent_id in retired):
            if area in old:
                area.valid_to = effective_date
            elif len(new) == 1:
                # A merger keeps the residential groups; their former parent stays on record so that
                # summaries can show a period on the areas of the time.
                session.add(AreaParentHistory(area_id=area.id, parent_id=area.parent_id, valid_until=effective_date))
                area.parent_id = new[0].id
                retired.discard(area.id)
            else:
                area.valid_to = effective_date
    session.flush()
    # What is filed in the retired areas (reports, ...) moves to the areas that replace them; the domains owning
    # those records build on this one, so they plug in here rather than being named.
    for follow in features.hooks(AREA_CHANGED):
        follow(session, retired, new, effective_date)
    session.flush()
    return change
