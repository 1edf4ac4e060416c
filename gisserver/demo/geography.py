"""A deterministic, Hue-like demo geography: city, 40 wards/communes, residential groups, layers.

Everything is generated from a seed so that two loads give the same city. Shapes are plausible,
not surveyed: the city outline follows Thua Thien Hue's extent, the river follows the Perfume River.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon

CITY_CODE = "HUE"
CITY_NAME = "Thành phố Huế"
CENTER = (107.585, 16.463)

CITY_OUTLINE = Polygon(
    [
        (107.00, 16.55),
        (107.10, 16.74),
        (107.35, 16.73),
        (107.55, 16.62),
        (107.75, 16.52),
        (107.95, 16.40),
        (108.10, 16.30),
        (108.21, 16.22),
        (108.15, 16.10),
        (107.95, 16.05),
        (107.75, 16.00),
        (107.50, 16.02),
        (107.25, 16.05),
        (107.05, 16.15),
        (106.98, 16.30),
    ]
)

URBAN_WARDS = [
    "Phường Phú Xuân",
    "Phường Thuận Hóa",
    "Phường Kim Long",
    "Phường Vỹ Dạ",
    "Phường Thủy Xuân",
    "Phường An Cựu",
    "Phường Hương An",
    "Phường Dương Nỗ",
    "Phường Thuận An",
    "Phường Hóa Châu",
    "Phường Mỹ Thượng",
    "Phường Hương Thủy",
]
OTHER_WARDS = [
    "Phường Phong Điền",
    "Phường Phong Thái",
    "Phường Phong Dinh",
    "Phường Phong Phú",
    "Phường Phong Quảng",
    "Phường Hương Trà",
    "Phường Kim Trà",
    "Phường Thanh Thủy",
    "Phường Phú Bài",
]
COMMUNES = [
    "Xã Đan Điền",
    "Xã Quảng Điền",
    "Xã Bình Điền",
    "Xã Phú Vang",
    "Xã Phú Vinh",
    "Xã Phú Hồ",
    "Xã Vinh Lộc",
    "Xã Phú Lộc",
    "Xã Chân Mây - Lăng Cô",
    "Xã Lộc An",
    "Xã Hưng Lộc",
    "Xã Khe Tre",
    "Xã Long Quảng",
    "Xã Nam Đông",
    "Xã A Lưới 1",
    "Xã A Lưới 2",
    "Xã A Lưới 3",
    "Xã A Lưới 4",
    "Xã A Lưới 5",
]

PERFUME_RIVER = LineString(
    [
        (107.48, 16.30),
        (107.53, 16.37),
        (107.555, 16.41),
        (107.565, 16.445),
        (107.585, 16.468),
        (107.61, 16.478),
        (107.635, 16.50),
        (107.655, 16.53),
        (107.63, 16.565),
        (107.61, 16.59),
    ]
)

STREET_NAMES = [
    "Lê Lợi", "Hùng Vương", "Trần Hưng Đạo", "Nguyễn Huệ", "Điện Biên Phủ", "Lê Duẩn", "Bà Triệu",
    "Nguyễn Tri Phương", "Đống Đa", "Phan Đình Phùng", "Trường Chinh", "Tố Hữu", "Võ Văn Kiệt", "An Dương Vương",
    "Nguyễn Sinh Cung", "Phạm Văn Đồng",
]

LAND_USE_CLASSES = [
    # (code, Vietnamese name, weight): codes and names of the national land-use code list (the Ministry of
    # Natural Resources and Environment's land statistics and land-use planning codes).
    ("ODT", "Đất ở tại đô thị", 40),
    ("TMD", "Đất thương mại, dịch vụ", 10),
    ("DKV", "Đất khu vui chơi, giải trí công cộng", 12),
    ("DGD", "Đất xây dựng cơ sở giáo dục và đào tạo", 6),
    ("DYT", "Đất xây dựng cơ sở y tế", 3),
    ("TON", "Đất cơ sở tôn giáo", 3),
    ("DDT", "Đất có di tích lịch sử - văn hóa", 5),
    ("SKC", "Đất cơ sở sản xuất phi nông nghiệp", 6),
    ("LUA", "Đất trồng lúa", 15),
]


@dataclass(frozen=True)
class DemoGeography:
    city: gpd.GeoDataFrame  # code, name
    wards: gpd.GeoDataFrame  # code, name, parent_code, urban
    groups: gpd.GeoDataFrame  # code, name, parent_code


def _as_multipolygon(geom) -> MultiPolygon:
    polys = [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon" and not g.is_empty]
    return MultiPolygon(polys)


def _points_inside(rng: np.random.Generator, polygon, n: int, center=None, spread=None) -> list[Point]:
    """n random points inside *polygon*, optionally drawn around *center* with a normal *spread*."""
    minx, miny, maxx, maxy = polygon.bounds
    prepared = shapely.prepared.prep(polygon)
    points: list[Point] = []
    while len(points) < n:
        if center is not None:
            x, y = rng.normal(center[0], spread), rng.normal(center[1], spread)
        else:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        p = Point(x, y)
        if prepared.contains(p) and all(p.distance(q) > (spread or 0.02) / 4 for q in points):
            points.append(p)
    return points


def _voronoi_cells(seeds: list[Point], clip) -> list:
    cells = shapely.voronoi_polygons(shapely.MultiPoint(seeds), extend_to=clip.envelope.buffer(0.5))
    by_seed = []
    parts = list(shapely.get_parts(cells))
    for seed in seeds:
        cell = next(c for c in parts if c.contains(seed))
        by_seed.append(_as_multipolygon(cell.intersection(clip)))
    return by_seed


def build_geography(seed: int = 2025, groups_per_ward: tuple[int, int] = (6, 14)) -> DemoGeography:
    """City -> 40 wards/communes -> residential groups, as GeoDataFrames in EPSG:4326."""
    rng = np.random.default_rng(seed)
    city_geom = _as_multipolygon(CITY_OUTLINE)
    city = gpd.GeoDataFrame({"code": [CITY_CODE], "name": [CITY_NAME]}, geometry=[city_geom], crs=4326)

    urban_seeds = _points_inside(rng, CITY_OUTLINE, len(URBAN_WARDS), center=CENTER, spread=0.035)
    rural_seeds: list[Point] = []
    while len(rural_seeds) < len(OTHER_WARDS) + len(COMMUNES):
        (p,) = _points_inside(rng, CITY_OUTLINE, 1)
        if p.distance(Point(CENTER)) > 0.09 and all(p.distance(q) > 0.07 for q in rural_seeds):
            rural_seeds.append(p)
    # Rural wards (former towns) lie nearer the centre than communes: sort by distance.
    rural_seeds.sort(key=lambda p: p.distance(Point(CENTER)))
    seeds = urban_seeds + rural_seeds
    names = URBAN_WARDS + OTHER_WARDS + COMMUNES
    cells = _voronoi_cells(seeds, CITY_OUTLINE)
    wards = gpd.GeoDataFrame(
        {
            "code": [f"{CITY_CODE}-{i + 1:02d}" for i in range(len(seeds))],
            "name": names,
            "parent_code": CITY_CODE,
            "urban": [i < len(URBAN_WARDS) + len(OTHER_WARDS) for i in range(len(seeds))],
        },
        geometry=cells,
        crs=4326,
    )

    group_rows, group_geoms = [], []
    for ward in wards.itertuples():
        n = int(rng.integers(groups_per_ward[0], groups_per_ward[1] + 1))
        outline = ward.geometry
        spread = max(outline.bounds[2] - outline.bounds[0], outline.bounds[3] - outline.bounds[1]) / 4
        seeds = _points_inside(rng, outline, n, center=outline.centroid.coords[0], spread=spread)
        label = "Tổ dân phố" if ward.urban else "Thôn"
        for j, cell in enumerate(_voronoi_cells(seeds, outline)):
            group_rows.append(
                {"code": f"{ward.code}-{j + 1:02d}", "name": f"{label} {j + 1}", "parent_code": ward.code}
            )
            group_geoms.append(cell)
    groups = gpd.GeoDataFrame(group_rows, geometry=group_geoms, crs=4326)
    # Parents are exactly the union of their children, as in a surveyed boundary set.
    wards["geometry"] = [
        _as_multipolygon(shapely.union_all(groups.geometry[groups.parent_code == code])) for code in wards.code
    ]
    city["geometry"] = [_as_multipolygon(shapely.union_all(wards.geometry))]
    return DemoGeography(city=city, wards=wards, groups=groups)


def land_use_parcels(rng: np.random.Generator, city, size_deg: float = 0.0018, half_extent: float = 0.04):
    """Planning parcels on a jittered grid around the centre, with a land-use class each."""
    codes = [c for c, _, _ in LAND_USE_CLASSES]
    names = {c: n for c, n, _ in LAND_USE_CLASSES}
    weights = np.array([w for _, _, w in LAND_USE_CLASSES], dtype=float)
    weights /= weights.sum()
    river = PERFUME_RIVER.buffer(0.0025)
    rows, geoms = [], []
    cx, cy = CENTER
    steps = int(2 * half_extent / size_deg)
    for i in range(steps):
        for j in range(steps):
            x0, y0 = cx - half_extent + i * size_deg, cy - half_extent + j * size_deg
            gap = size_deg * 0.12  # streets between blocks
            cell = shapely.box(x0 + gap, y0 + gap, x0 + size_deg - gap, y0 + size_deg - gap)
            if cell.intersects(river) or not city.contains(cell):
                continue
            code = str(rng.choice(codes, p=weights))
            # Square metres of the block (a degree of longitude is shorter this far from the equator).
            side_x = (size_deg - 2 * gap) * 111_320 * np.cos(np.radians(y0))
            rows.append(
                {
                    "ma_lo": f"L{i:03d}-{j:03d}",
                    "loai_dat": code,
                    "ten_loai": names[code],
                    "tang_cao": int(rng.integers(1, 12)) if code in ("ODT", "TMD") else 0,
                    "mat_do_xd": round(float(rng.uniform(0.2, 0.8)), 2),
                    "dien_tich": round(float(side_x * (size_deg - 2 * gap) * 110_540), 1),
                    "nam_hoan_thanh": int(rng.choice([2026, 2027, 2028, 2030])),
                    "do_an": "Quy hoạch phân khu đô thị Huế 2030",
                }
            )
            geoms.append(cell)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def road_network(rng: np.random.Generator, city) -> gpd.GeoDataFrame:
    """Radial and ring streets around the centre plus national road 1A across the city."""
    rows, geoms = [], []
    cx, cy = CENTER
    for k in range(16):
        angle = 2 * np.pi * k / 16 + rng.uniform(-0.1, 0.1)
        length = rng.uniform(0.05, 0.12)
        pts = [
            (cx + r * np.cos(angle) + rng.normal(0, 0.002), cy + r * np.sin(angle) + rng.normal(0, 0.002))
            for r in np.linspace(0.004, length, 8)
        ]
        rows.append(
            {
                "ten_duong": f"Đường {STREET_NAMES[k]}",
                "cap_duong": "Đường chính khu vực",
                "lo_gioi_m": float(rng.choice([13.5, 19.5, 26.0])),
            }
        )
        geoms.append(LineString(pts))
    for ring, radius in enumerate((0.015, 0.03, 0.05), start=1):
        pts = [(cx + radius * np.cos(t), cy + radius * 0.9 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 48)]
        rows.append({"ten_duong": f"Vành đai {ring}", "cap_duong": "Đường chính đô thị", "lo_gioi_m": 36.0})
        geoms.append(LineString(pts))
    rows.append({"ten_duong": "Quốc lộ 1A", "cap_duong": "Quốc lộ", "lo_gioi_m": 42.0})
    geoms.append(
        LineString(
            [(107.10, 16.70), (107.40, 16.60), (107.58, 16.44), (107.80, 16.32), (108.00, 16.22), (108.15, 16.18)]
        )
    )
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)
    gdf["geometry"] = gdf.geometry.intersection(city)
    return gdf[~gdf.geometry.is_empty].reset_index(drop=True)


def drainage_lines(rng: np.random.Generator, roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Drainage mains along the main streets, offset a few metres."""
    rows, geoms = [], []
    for road in roads.itertuples():
        if road.cap_duong == "Quốc lộ":
            continue
        geoms.append(shapely.offset_curve(road.geometry, 0.00008))
        rows.append(
            {
                "ten_tuyen": f"Cống dọc {road.ten_duong}",
                "duong_kinh": int(rng.choice([600, 800, 1000, 1200])),
                "vat_lieu": str(rng.choice(["BTCT", "HDPE"])),
            }
        )
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def flood_zones(city) -> gpd.GeoDataFrame:
    """Flood-risk zones as bands along the Perfume River (deeper near the river)."""
    bands = [
        ("Ngập sâu trên 1,5 m", "cao", 0.006),
        ("Ngập 0,5 - 1,5 m", "trung_binh", 0.016),
        ("Ngập dưới 0,5 m", "thap", 0.03),
    ]
    rows, geoms, inner = [], [], None
    for name, level, width in bands:
        zone = PERFUME_RIVER.buffer(width).intersection(city)
        ring = zone if inner is None else zone.difference(inner)
        rows.append({"muc_ngap": name, "nguy_co": level, "chu_ky_nam": {"cao": 5, "trung_binh": 20, "thap": 50}[level]})
        geoms.append(_as_multipolygon(ring))
        inner = zone
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)


def evacuation_points(rng: np.random.Generator, wards: gpd.GeoDataFrame):
    """Evacuation shelters, two per ward, as a table with longitude/latitude columns (a CSV layer)."""
    rows = []
    for ward in wards.itertuples():
        for k, p in enumerate(_points_inside(rng, ward.geometry, 2), start=1):
            rows.append(
                {
                    "ten_diem": f"Điểm sơ tán {k} - {ward.name}",
                    "suc_chua": int(rng.integers(100, 1500)),
                    "kinh_do": round(p.x, 6),
                    "vi_do": round(p.y, 6),
                }
            )
    return rows


def address_points(roads: gpd.GeoDataFrame, wards: gpd.GeoDataFrame, spacing_deg: float = 0.0005,
                   max_per_road: int = 120) -> gpd.GeoDataFrame:
    """House numbers along the streets (odd on one side, even on the other), with their ward: a gazetteer."""
    rows, geoms = [], []
    for road in roads.itertuples():
        if road.cap_duong == "Quốc lộ":
            continue
        for line in shapely.get_parts(road.geometry):
            steps = min(int(line.length / spacing_deg), max_per_road)
            for i in range(1, steps):
                for side, offset in ((1, 0.00012), (2, -0.00012)):
                    along = line.interpolate(i * spacing_deg)
                    shifted = shapely.offset_curve(line, offset)
                    point = shifted.interpolate(shifted.project(along)) if not shifted.is_empty else along
                    rows.append({"so_nha": str(2 * i - 1 if side == 1 else 2 * i), "ten_duong": road.ten_duong})
                    geoms.append(point)
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)
    joined = gpd.sjoin(frame, wards[["name", "geometry"]], how="inner", predicate="within")
    return joined.rename(columns={"name": "phuong"}).drop(columns="index_right").reset_index(drop=True)


def river_area(city) -> gpd.GeoDataFrame:
    """The Perfume River as water (about 250 m wide through the city), for the city's own base map."""
    water = PERFUME_RIVER.buffer(0.0012).intersection(city)
    return gpd.GeoDataFrame({"ten": ["Sông Hương"], "loai": ["song"]}, geometry=[_as_multipolygon(water)], crs=4326)


def local_streets(rng: np.random.Generator, wards: gpd.GeoDataFrame, urban_spacing_deg: float = 0.0025,
                  rural_spacing_deg: float = 0.012) -> gpd.GeoDataFrame:
    """A jittered grid of local streets over every ward (dense in the urban wards, a few village roads in the
    communes), cut where the river runs: what a town plan's base map shows between the main roads."""
    river = PERFUME_RIVER.buffer(0.0014)
    rows, geoms = [], []
    for ward in wards.itertuples():
        spacing = urban_spacing_deg if ward.name.startswith("Phường") else rural_spacing_deg
        minx, miny, maxx, maxy = ward.geometry.bounds
        xs, ys = np.arange(minx, maxx, spacing), np.arange(miny, maxy, spacing)
        for axis, fixed, along in (("ngang", ys, xs), ("doc", xs, ys)):
            for k, at in enumerate(fixed):
                jitter = rng.normal(0, spacing / 12, len(along))
                points = ([(a, at + j) for a, j in zip(along, jitter, strict=True)] if axis == "ngang"
                          else [(at + j, a) for a, j in zip(along, jitter, strict=True)])
                if len(points) < 2:
                    continue
                line = LineString(points).difference(river).intersection(ward.geometry)
                if line.is_empty or line.length < spacing:
                    continue
                rows.append({"ten_duong": f"Kiệt {axis} {k + 1}", "cap_duong": "Đường nội bộ", "phuong": ward.name})
                geoms.append(line)
    return gpd.GeoDataFrame(rows, geometry=geoms, crs=4326)
