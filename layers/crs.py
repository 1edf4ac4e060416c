"""Source coordinate systems, with VN-2000 done right.

VN-2000 files often come with a .prj that names the datum but carries no shift to WGS 84, and the
provincial 3-degree TM zones (k = 0.9999) each have their own central meridian. We always transform
VN-2000 with the national 7-parameter shift (Decision 05/2007/QD-BTNMT), so a .prj, an EPSG code and
a province name all give the same positions.
"""

from __future__ import annotations

import contextlib
import math
import re
import unicodedata
from dataclasses import dataclass

from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, InternalError, ProgrammingError
from sqlalchemy.orm import Session

from gisserver.core.exceptions import Invalid

# Decision 05/2007 publishes the rotations in the coordinate-frame convention (EPSG:6960, "VN-2000 to WGS 84 (2)");
# PROJ's +towgs84 reads them as position vector, so their signs are flipped here (otherwise ~0.7 m off).
VN2000_TOWGS84 = "-191.90441429,-39.30318279,-111.45032835,0.00928836,-0.01975479,0.00427372,0.252906278"

# Central meridians (degrees) of the provincial VN-2000 TM-3 zones, Circular 973/2001/TT-TCĐC,
# for the provinces as they stood before the 2025 mergers (files keep the zone they were made in).
PROVINCE_MERIDIANS: dict[str, float] = {
    "lai-chau": 103.0, "dien-bien": 103.0, "son-la": 104.0, "lao-cai": 104.75, "yen-bai": 104.75,
    "ha-giang": 105.5, "tuyen-quang": 106.0, "phu-tho": 104.75, "vinh-phuc": 105.0, "cao-bang": 105.75,
    "lang-son": 107.25, "bac-kan": 106.5, "thai-nguyen": 106.5, "bac-giang": 107.0, "bac-ninh": 105.5,
    "quang-ninh": 107.75, "hai-phong": 105.75, "hai-duong": 105.5, "hung-yen": 105.5, "ha-noi": 105.0,
    "hoa-binh": 106.0, "ha-nam": 105.0, "nam-dinh": 105.5, "thai-binh": 105.5, "ninh-binh": 105.0,
    "thanh-hoa": 105.0, "nghe-an": 104.75, "ha-tinh": 105.5, "quang-binh": 106.0, "quang-tri": 106.25,
    "thua-thien-hue": 107.0, "hue": 107.0, "da-nang": 107.75, "quang-nam": 107.75, "quang-ngai": 108.0,
    "binh-dinh": 108.25, "phu-yen": 108.5, "khanh-hoa": 108.25, "ninh-thuan": 108.25, "binh-thuan": 108.5,
    "kon-tum": 107.5, "gia-lai": 108.5, "dak-lak": 108.5, "dak-nong": 108.5, "lam-dong": 107.75,
    "binh-phuoc": 106.25, "binh-duong": 105.75, "dong-nai": 107.75, "ba-ria-vung-tau": 107.75,
    "tay-ninh": 105.5, "ho-chi-minh": 105.75, "long-an": 105.75, "tien-giang": 105.75, "ben-tre": 105.75,
    "dong-thap": 105.0, "vinh-long": 105.5, "tra-vinh": 105.5, "an-giang": 104.75, "kien-giang": 104.5,
    "can-tho": 105.0, "hau-giang": 105.0, "soc-trang": 105.5, "bac-lieu": 105.0, "ca-mau": 104.5,
}
# National VN-2000 UTM zones: EPSG:3405 (zone 48N, 105 E) and EPSG:3406 (zone 49N, 111 E).
VN2000_EPSG_UTM = {3405: 105.0, 3406: 111.0}
VN2000_GEOGRAPHIC_EPSG = 4756


def _slug(name: str) -> str:
    text = unicodedata.normalize("NFD", name.strip().lower()).replace("đ", "d")
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    for prefix in ("tinh ", "thanh pho ", "tp. ", "tp "):
        text = text.removeprefix(prefix)
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def vn2000_proj(central_meridian: float, k: float = 0.9999) -> str:
    """The PROJ definition of a VN-2000 transverse Mercator zone (3-degree provincial: k=0.9999; 6-degree UTM:
    k=0.9996), with the national shift to WGS 84."""
    return (f"+proj=tmerc +lat_0=0 +lon_0={central_meridian:g} +k={k} +x_0=500000 +y_0=0 "
            f"+ellps=WGS84 +towgs84={VN2000_TOWGS84} +units=m +no_defs +type=crs")


def vn2000_tm(central_meridian: float, k: float = 0.9999) -> CRS:
    """A VN-2000 transverse Mercator zone (3-degree provincial: k=0.9999; 6-degree UTM: k=0.9996).

    Written as WKT naming the Vietnam 2000 datum (EPSG:6756) with the national shift as TOWGS84, so that a file
    exported in it says what it is: a GeoPackage keeps the shift, a Shapefile's .prj keeps at least the datum's
    name (which our importer, and any GIS, recognises as VN-2000). A bare PROJ string had datum 'unknown'.
    """
    kind = "TM-3" if k == 0.9999 else "UTM" if k == 0.9996 else f"TM k={k}"
    return CRS.from_wkt(
        f'PROJCS["VN-2000 / {kind} {central_meridian:g}",'
        'GEOGCS["VN-2000",DATUM["Vietnam_2000",SPHEROID["WGS 84",6378137,298.257223563],'
        f'TOWGS84[{VN2000_TOWGS84}],AUTHORITY["EPSG","6756"]],PRIMEM["Greenwich",0],'
        'UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],'
        f'PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",{central_meridian!r}],'
        f'PARAMETER["scale_factor",{k!r}],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],'
        'UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
    )


def province_crs(province: str) -> CRS:
    key = _slug(province)
    if key not in PROVINCE_MERIDIANS:
        raise Invalid(f"unknown province {province!r}", {"provinces": sorted(PROVINCE_MERIDIANS)})
    return vn2000_tm(PROVINCE_MERIDIANS[key])


def _is_vn2000(crs: CRS) -> bool:
    datum = (crs.datum.name if crs.datum else "") or ""
    return bool(re.search(r"vn[-_ ]?2000|vietnam[-_ ]?2000", datum + " " + crs.name, re.IGNORECASE))


def _with_vn2000_shift(crs: CRS) -> CRS:
    """Re-express a VN-2000 CRS (from EPSG or a .prj) with the national 7-parameter shift."""
    if crs.is_geographic:
        return CRS.from_proj4(f"+proj=longlat +ellps=WGS84 +towgs84={VN2000_TOWGS84} +no_defs +type=crs")
    params = {p.name: p.value for p in crs.coordinate_operation.params} if crs.coordinate_operation else {}
    method = crs.coordinate_operation.method_name.lower() if crs.coordinate_operation else ""
    if "transverse mercator" not in method:
        return crs
    lon_0 = params.get("Longitude of natural origin")
    k = params.get("Scale factor at natural origin", 0.9999)
    false_easting = params.get("False easting", 500000)
    if lon_0 is None or abs(false_easting - 500000) > 1e-6:
        return crs
    return vn2000_tm(lon_0, k)


def parse_crs(text: str) -> CRS:
    """A CRS from user text: 'EPSG:3405', '4326', 'vn2000:107.75' (a TM-3 zone), a PROJ string or WKT."""
    value = text.strip()
    match = re.fullmatch(r"(?i)vn-?2000:(\d+(?:\.\d+)?)", value)
    if match:
        return vn2000_tm(float(match.group(1)))
    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        crs = CRS.from_user_input(value)
    except CRSError as exc:
        raise Invalid(f"unknown coordinate system {text!r}: {exc}") from None
    return _with_vn2000_shift(crs) if _is_vn2000(crs) else crs


def resolve_source_crs(file_crs, *, crs: str | None = None, province: str | None = None) -> tuple[CRS, str]:
    """The CRS to read a file in, and how to describe it in the catalog.

    The user's --crs/--province wins over the file's; a file without CRS needs one of them.
    """
    if crs and province:
        raise Invalid("give either a CRS or a province, not both")
    if province:
        return province_crs(province), f"VN-2000 TM-3 {PROVINCE_MERIDIANS[_slug(province)]} ({_slug(province)})"
    if crs:
        resolved = parse_crs(crs)
        return resolved, crs.strip()
    if file_crs is None:
        raise Invalid(
            "the file has no coordinate system (.prj or CRS); name one with crs (e.g. EPSG:3405) or province "
            "(e.g. hue for VN-2000 TM-3 107°00')",
            {"reason": "no_crs"},
        )
    source = CRS.from_user_input(file_crs)
    epsg = source.to_epsg()
    description = f"EPSG:{epsg}" if epsg else source.name
    if _is_vn2000(source):
        return _with_vn2000_shift(source), description
    return source, description


# -- coordinate systems served by OGC API - Features Part 2 and accepted in edits (Content-Crs) -----------------

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/"
# EPSG codes of the VN-2000 TM-3 zones (k = 0.9999) by central meridian; every provincial zone above has one.
VN2000_TM3_EPSG = {
    102.0: 5896, 103.0: 9205, 104.0: 9206, 104.5: 9207, 104.75: 9208, 105.0: 5897, 105.5: 9209, 105.75: 9210,
    106.0: 9211, 106.25: 9212, 106.5: 9213, 107.0: 9214, 107.25: 9215, 107.5: 9216, 107.75: 5899, 108.0: 5898,
    108.25: 9217, 108.5: 9218,
}
# How PostGIS moves geometries to and from VN-2000 fast and exactly. A PROJ string given to ST_Transform as text is
# parsed again for every row (4 ms a point for a VN-2000 zone: a page of 100 parcels would take seconds); SRIDs of
# spatial_ref_sys are cached per connection, but PostGIS hands their EPSG codes to PROJ, which picks the datum shift
# itself: for EPSG:4756 it took "VN-2000 to WGS 84 (1)" at Saigon (0.8 m from the national shift), and the newer
# TM-3 zones (9205-9218) are not in PostGIS 3.3's table at all. So the national shift is done here as what it is, a
# 7-parameter Helmert transformation of geocentric coordinates (ST_Affine between EPSG:4978 and EPSG:4326, which are
# conversions with no choice of shift), and every zone is WGS 84 / UTM 48N (EPSG:32648, a plain projection; VN-2000
# uses the WGS 84 ellipsoid) applied to the VN-2000 longitude moved by 105° minus the zone's meridian, then scaled by
# k / 0.9996 about the false easting: a transverse Mercator depends only on the distance from its meridian and is
# linear in k. Within a few nanometres of pyproj (tests/layers/test_part2_crs.py checks every zone in metres).
GEOCENTRIC_SRID = 4978
UTM_BASE_SRID, UTM_BASE_MERIDIAN, UTM_K, FALSE_EASTING = 32648, 105.0, 0.9996, 500000.0
DEGREE_DECIMALS = 7  # about 1 cm: coordinates in degrees are written with this many decimals
METRE_DECIMALS = 3  # 1 mm: projected coordinates are written with this many decimals


def _helmert_matrices() -> tuple[tuple[float, ...], tuple[float, ...]]:
    """ST_Affine's 12 arguments (a..i, then the offsets) for VN-2000 -> WGS 84 and back, in geocentric metres, as PROJ
    reads +towgs84 (position vector; rotations in arc seconds, scale in ppm) and inverts it."""
    dx, dy, dz, rx, ry, rz, ppm = (float(v) for v in VN2000_TOWGS84.split(","))
    rx, ry, rz = (math.radians(v / 3600) for v in (rx, ry, rz))
    scale = 1 + ppm * 1e-6
    rotation = [[1.0, -rz, ry], [rz, 1.0, -rx], [-ry, rx, 1.0]]
    shift = (dx, dy, dz)
    forward = [scale * rotation[i][j] for i in range(3) for j in range(3)]
    back = [[rotation[j][i] / scale for j in range(3)] for i in range(3)]
    back_offset = [-sum(back[i][j] * shift[j] for j in range(3)) for i in range(3)]
    return (*forward, *shift), (*[v for row in back for v in row], *back_offset)


TO_WGS84, TO_VN2000 = _helmert_matrices()


@dataclass(frozen=True)
class ServedCrs:
    """A coordinate system clients may ask for (crs, bbox-crs, filter-crs) or write in (Content-Crs).

    *proj* is its PROJ definition (None for CRS84, the storage CRS); VN-2000 always carries the national shift, as in
    files. *lat_lon*: the axis order is latitude first (EPSG:4326). PostGIS moves geometries between it and the stored
    EPSG:4326 through *srid*, or for a VN-2000 zone through its *meridian* and scale factor *k* (see UTM_BASE_SRID).
    *decimals*: the output grid, in the CRS's own unit.
    """

    uri: str
    title: str
    proj: str | None
    lat_lon: bool = False
    srid: int | None = None
    meridian: float | None = None
    k: float = UTM_K
    decimals: int = DEGREE_DECIMALS

    @property
    def is_storage(self) -> bool:
        return self.proj is None

    @property
    def is_geographic(self) -> bool:
        """Longitude and latitude (CRS84, or EPSG:4326 with latitude first)."""
        return self.is_storage or self.lat_lon

    @property
    def grid(self) -> float:
        """The grid served coordinates are snapped to: 1e-7 degree or 1 mm."""
        return 10.0**-self.decimals

    @property
    def content_crs(self) -> str:
        """The Content-Crs header naming this CRS."""
        return f"<{self.uri}>"

    def from_storage(self, geom):
        """A PostGIS expression: *geom* (EPSG:4326, longitude first) in this CRS, in its axis order."""
        if self.is_storage:
            return geom
        if self.lat_lon:
            return func.ST_FlipCoordinates(geom)
        if self.meridian is None:
            return func.ST_Transform(geom, self.srid)
        geocentric = func.ST_Transform(func.ST_Force3D(geom), GEOCENTRIC_SRID)
        vn2000 = func.ST_SetSRID(func.ST_Affine(geocentric, *TO_VN2000), GEOCENTRIC_SRID)
        longitude_latitude = func.ST_Force2D(func.ST_Transform(vn2000, 4326))
        moved = func.ST_Translate(longitude_latitude, UTM_BASE_MERIDIAN - self.meridian, 0.0)
        utm = func.ST_Transform(moved, UTM_BASE_SRID)
        if self.k == UTM_K:
            return utm
        r = self.k / UTM_K
        return func.ST_Affine(utm, r, 0.0, 0.0, r, FALSE_EASTING * (1 - r), 0.0)

    def to_storage(self, geom):
        """A PostGIS expression: *geom* (coordinates in this CRS, any SRID) as stored, EPSG:4326 longitude first."""
        if self.is_storage:
            return func.ST_SetSRID(geom, 4326)
        if self.lat_lon:
            return func.ST_SetSRID(func.ST_FlipCoordinates(geom), 4326)
        if self.meridian is None:
            return func.ST_Transform(func.ST_SetSRID(geom, self.srid), 4326)
        r = self.k / UTM_K
        utm = geom if self.k == UTM_K else func.ST_Affine(geom, 1 / r, 0.0, 0.0, 1 / r,
                                                          -FALSE_EASTING * (1 - r) / r, 0.0)
        longitude_latitude = func.ST_Transform(func.ST_SetSRID(utm, UTM_BASE_SRID), 4326)
        moved = func.ST_Translate(longitude_latitude, self.meridian - UTM_BASE_MERIDIAN, 0.0)
        geocentric = func.ST_Transform(func.ST_Force3D(moved), GEOCENTRIC_SRID)
        wgs84 = func.ST_SetSRID(func.ST_Affine(geocentric, *TO_WGS84), GEOCENTRIC_SRID)
        return func.ST_Force2D(func.ST_Transform(wgs84, 4326))


def _served() -> dict[str, ServedCrs]:
    entries = [
        ServedCrs(CRS84, "WGS 84 longitude/latitude (CRS84)", None),
        ServedCrs(EPSG_URI + "4326", "WGS 84 latitude/longitude (EPSG:4326)", "+proj=longlat +datum=WGS84 +no_defs",
                  lat_lon=True, srid=4326),
        ServedCrs(EPSG_URI + "3857", "Web Mercator (EPSG:3857)", "EPSG:3857", srid=3857, decimals=METRE_DECIMALS),
    ]
    for code, meridian in VN2000_EPSG_UTM.items():
        entries.append(ServedCrs(EPSG_URI + str(code), f"VN-2000 / UTM {48 if meridian == 105.0 else 49}N "
                                 f"(EPSG:{code})", vn2000_proj(meridian, UTM_K), meridian=meridian,
                                 decimals=METRE_DECIMALS))
    for meridian, code in sorted(VN2000_TM3_EPSG.items()):
        degrees, minutes = int(meridian), round((meridian % 1) * 60)
        entries.append(ServedCrs(EPSG_URI + str(code), f"VN-2000 / TM-3 {degrees}°{minutes:02d}' (EPSG:{code})",
                                 vn2000_proj(meridian), meridian=meridian, k=0.9999, decimals=METRE_DECIMALS))
    return {e.uri: e for e in entries}


SERVED_CRS: dict[str, ServedCrs] = _served()
STORAGE_CRS = SERVED_CRS[CRS84]  # geometries are stored in EPSG:4326 with longitude first, that is CRS84's order


def served_crs(uri: str | None, parameter: str) -> ServedCrs:
    """The served CRS a parameter or header names (its URI, or the short EPSG:n / [EPSG:n] forms); CRS84 when
    absent; a 400 listing the choices otherwise."""
    if uri is None:
        return STORAGE_CRS
    text = uri.strip().strip("[]<>")  # Content-Crs writes <uri>, bbox-crs may be a safe CURIE [EPSG:n]
    match = re.fullmatch(r"(?i)epsg:(\d+)", text)
    if match:
        text = EPSG_URI + match.group(1)
    if text.lower() in ("crs84", "ogc:crs84"):
        text = CRS84
    found = SERVED_CRS.get(text)
    if found is None:
        raise Invalid(f"{parameter} {uri!r} is not one of the coordinate systems this server offers: "
                      f"{', '.join(SERVED_CRS)}", {"parameter": parameter, "supported": list(SERVED_CRS)})
    return found


def _checked_bounds(bounds, crs: ServedCrs, parameter: str) -> None:
    minx, miny, maxx, maxy = bounds
    if not (all(v is not None and math.isfinite(v) for v in bounds)
            and -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise Invalid(f"{parameter}: the coordinates in {crs.title} lie outside longitude -180..180 / latitude "
                      "-90..90 once transformed", {"parameter": parameter, "crs": crs.uri})


def _guard(session: Session):
    """A savepoint around a statement that may fail, in a transaction (the error would abort it); nothing on a read
    session in autocommit, which has no transaction to keep and where a savepoint is an error."""
    if session.connection().get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return contextlib.nullcontext()
    return session.begin_nested()


def stored_geometry(session: Session, geometry, crs: ServedCrs, parameter: str) -> bytes:
    """A geometry expression with coordinates in *crs* (a bbox, a filter's literal) moved by PostGIS to the stored
    EPSG:4326, as WKB for the query that uses it (transformed once here, not once per row there). A 400 naming
    *parameter* when PostGIS cannot transform it or it falls outside longitude/latitude."""
    stored = select(geometry.label("given"), crs.to_storage(geometry).label("g")).subquery()
    g = stored.c.g
    # Moved back, it must land where it was given: far outside a projection's domain PROJ wraps or folds
    # coordinates (x = 1e12 in Web Mercator comes back as another longitude) instead of failing.
    back = func.ST_HausdorffDistance(func.ST_SetSRID(crs.from_storage(g), 0), func.ST_SetSRID(stored.c.given, 0))
    statement = select(func.ST_AsBinary(g), func.ST_XMin(g), func.ST_YMin(g), func.ST_XMax(g), func.ST_YMax(g),
                       back)
    try:
        with _guard(session):
            wkb, *bounds, moved_back = session.execute(statement).one()
    except (DataError, InternalError, ProgrammingError) as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else "cannot be transformed"
        raise Invalid(f"{parameter}: the coordinates cannot be read in {crs.title}: {reason}",
                      {"parameter": parameter, "crs": crs.uri}) from None
    _checked_bounds(bounds, crs, parameter)
    if moved_back is None or not moved_back <= 10 * crs.grid:
        raise Invalid(f"{parameter}: the coordinates lie outside the area where {crs.title} is defined",
                      {"parameter": parameter, "crs": crs.uri})
    return bytes(wkb)


def stored_box(session: Session, box: tuple[float, float, float, float], crs: ServedCrs, parameter: str) -> bytes:
    """A box (minx, miny, maxx, maxy in *crs*'s axis order) as the stored EPSG:4326 polygon it covers, as WKB. Its
    edges are divided into 64 parts before being transformed: a projected box's edges are curves in degrees."""
    minx, miny, maxx, maxy = box
    if minx > maxx or miny > maxy:
        raise Invalid(f"{parameter}: a box in {crs.title} needs minx <= maxx and miny <= maxy",
                      {"parameter": parameter, "crs": crs.uri})
    step = max(maxx - minx, maxy - miny) / 64 or 1.0
    envelope = func.ST_Segmentize(func.ST_MakeEnvelope(minx, miny, maxx, maxy), step)
    return stored_geometry(session, envelope, crs, parameter)
