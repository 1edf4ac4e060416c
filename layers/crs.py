"""Source coordinate systems, with VN-2000 done right.

VN-2000 files often come with a .prj that names the datum but carries no shift to WGS 84, and the
provincial 3-degree TM zones (k = 0.9999) each have their own central meridian. We always transform
VN-2000 with the national 7-parameter shift (Decision 05/2007/QD-BTNMT), so a .prj, an EPSG code and
a province name all give the same positions.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from pyproj import CRS
from pyproj.exceptions import CRSError

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


@dataclass(frozen=True)
class ServedCrs:
    """A coordinate system clients may ask for (crs, bbox-crs) or write in (Content-Crs).

    *proj* is the PROJ definition PostGIS transforms with (None for CRS84, the storage CRS); VN-2000 always carries
    the national shift, as in files. *lat_lon*: the axis order is latitude first (EPSG:4326).
    """

    uri: str
    title: str
    proj: str | None
    lat_lon: bool = False

    @property
    def is_storage(self) -> bool:
        return self.proj is None


def _served() -> dict[str, ServedCrs]:
    entries = [
        ServedCrs(CRS84, "WGS 84 longitude/latitude (CRS84)", None),
        ServedCrs(EPSG_URI + "4326", "WGS 84 latitude/longitude (EPSG:4326)", "+proj=longlat +datum=WGS84 +no_defs",
                  lat_lon=True),
        ServedCrs(EPSG_URI + "3857", "Web Mercator (EPSG:3857)", "EPSG:3857"),
    ]
    for code, meridian in VN2000_EPSG_UTM.items():
        entries.append(ServedCrs(EPSG_URI + str(code), f"VN-2000 / UTM {48 if meridian == 105.0 else 49}N "
                                 f"(EPSG:{code})", vn2000_proj(meridian, 0.9996)))
    for meridian, code in sorted(VN2000_TM3_EPSG.items()):
        degrees, minutes = int(meridian), round((meridian % 1) * 60)
        entries.append(ServedCrs(EPSG_URI + str(code), f"VN-2000 / TM-3 {degrees}°{minutes:02d}' (EPSG:{code})",
                                 vn2000_proj(meridian)))
    return {e.uri: e for e in entries}


SERVED_CRS: dict[str, ServedCrs] = _served()


def served_crs(uri: str | None, parameter: str) -> ServedCrs:
    """The served CRS a parameter or header names (its URI, or the short EPSG:n / [EPSG:n] forms); CRS84 when
    absent; a 400 listing the choices otherwise."""
    if uri is None or uri == "":
        return SERVED_CRS[CRS84]
    text = uri.strip().strip("[]<>")  # Content-Crs writes <uri>, bbox-crs may be a safe CURIE [EPSG:n]
    match = re.fullmatch(r"(?i)epsg:(\d+)", text)
    if match:
        text = EPSG_URI + match.group(1)
    if text.lower() in ("crs84", "ogc:crs84"):
        text = CRS84
    found = SERVED_CRS.get(text)
    if found is None:
        raise Invalid(f"{parameter} must be one of the coordinate systems this server offers",
                      {"parameter": parameter, "supported": list(SERVED_CRS)})
    return found
