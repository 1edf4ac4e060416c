"""Demo planning and infrastructure layers, written as the files planners bring and imported like theirs."""

from __future__ import annotations

import csv
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from gisserver.demo.geography import (
    LAND_USE_CLASSES,
    DemoGeography,
    address_points,
    drainage_lines,
    evacuation_points,
    flood_zones,
    land_use_parcels,
    local_streets,
    river_area,
    road_network,
)
from layers.crs import province_crs
from layers.importing import ImportOptions, import_layer
from layers.models import Layer

# One colour per class of LAND_USE_CLASSES, and the name a legend shows for its code.
LAND_USE_COLOURS = {"ODT": "#f4a582", "TMD": "#d6604d", "DKV": "#4dac26", "DGD": "#92c5de", "DYT": "#f1b6da",
                    "TON": "#b2abd2", "DDT": "#8073ac", "SKC": "#bababa", "LUA": "#e6f5d0"}
LAND_USE_LABELS = {code: name for code, name, _ in LAND_USE_CLASSES}
# What a planner types once in the catalog: aliases, and how numbers read (a year is 2027, not 2.027).
PARCEL_ATTRIBUTES = [
    {"name": "ma_lo", "alias": "Mã lô"}, {"name": "loai_dat", "alias": "Loại đất"},
    {"name": "ten_loai", "alias": "Tên loại đất"}, {"name": "tang_cao", "alias": "Tầng cao tối đa", "unit": "tầng"},
    {"name": "mat_do_xd", "alias": "Mật độ xây dựng", "format": "percent", "decimals": 0},
    {"name": "dien_tich", "alias": "Diện tích", "unit": "m²", "decimals": 0},
    {"name": "nam_hoan_thanh", "alias": "Năm hoàn thành", "format": "plain"},
    {"name": "do_an", "alias": "Đồ án quy hoạch"},
]


def _zip(directory: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(directory.iterdir()):
            zf.write(part, part.name)
    return target


def load_demo_layers(session: Session, *, seed: int, geography: DemoGeography) -> str:
    """Eight layers in five formats (GeoPackage, GeoJSON, zipped Shapefile in VN-2000, KML, CSV); the river, the
    local streets and the road network make the city's own base map."""
    if session.scalar(select(Layer.id).limit(1)):
        return "already there"
    rng = np.random.default_rng(seed + 3)
    city = geography.city.geometry.iloc[0]
    imported = []
    with tempfile.TemporaryDirectory(prefix="gisserver-demo-") as tmp:
        tmp = Path(tmp)
        parcels = land_use_parcels(rng, city)
        parcels.to_file(tmp / "quy_hoach.gpkg", layer="su_dung_dat", driver="GPKG")
        roads = road_network(rng, city)
        roads.to_file(tmp / "giao_thong.geojson", driver="GeoJSON")
        # Drainage arrives the way survey offices deliver it: a Shapefile in VN-2000, Hue's TM-3 zone, no .prj.
        shp_dir = tmp / "thoat_nuoc"
        shp_dir.mkdir()
        drainage_lines(rng, roads).to_crs(province_crs("hue")).to_file(shp_dir / "thoat_nuoc.shp",
                                                                       encoding="UTF-8")
        (shp_dir / "thoat_nuoc.prj").unlink()
        flood_zones(city).to_file(tmp / "ngap_lut.kml", driver="KML")
        with open(tmp / "diem_so_tan.csv", "w", newline="", encoding="utf-8") as fh:
            rows = evacuation_points(rng, geography.wards)
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        address_points(roads, geography.wards).to_file(tmp / "dia_chi.geojson", driver="GeoJSON")
        river_area(city).to_file(tmp / "song.geojson", driver="GeoJSON")
        local_streets(rng, geography.wards).to_file(tmp / "duong_noi_bo.geojson", driver="GeoJSON")
        specs = [
            (tmp / "quy_hoach.gpkg", ImportOptions(
                name="quy-hoach-su-dung-dat", title="Quy hoạch sử dụng đất 2030", category="planning",
                group="Quy hoạch phân khu đô thị Huế", layer="su_dung_dat",
                description="Các lô đất theo quy hoạch phân khu, chỉ tiêu tầng cao và mật độ xây dựng",
                style={"stroke": "#7f6000", "weight": 1, "fill_opacity": 0.6, "by": "loai_dat",
                       "categories": LAND_USE_COLOURS, "labels": LAND_USE_LABELS},
                attribute_meta=PARCEL_ATTRIBUTES, sort_order=10)),
            (tmp / "giao_thong.geojson", ImportOptions(
                name="mang-luoi-giao-thong", title="Mạng lưới giao thông", category="infrastructure",
                group="Hạ tầng kỹ thuật", style={"stroke": "#636363", "weight": 3}, sort_order=20,
                attribute_meta=[{"name": "ten_duong", "alias": "Tên đường"},
                                {"name": "cap_duong", "alias": "Cấp đường"},
                                {"name": "lo_gioi_m", "alias": "Lộ giới", "unit": "m", "decimals": 1}])),
            (_zip(shp_dir, tmp / "thoat_nuoc.zip"), ImportOptions(
                name="thoat-nuoc-mua", title="Tuyến cống thoát nước mưa", category="infrastructure",
                group="Hạ tầng kỹ thuật", province="hue", style={"stroke": "#2171b5", "weight": 2},
                # Utility networks are kept from the public; staff see them on the planner map, switched off at
                # first (a network over the whole city hides the rest).
                visibility="internal", shown_by_default=False, sort_order=30)),
            (tmp / "ngap_lut.kml", ImportOptions(
                name="vung-nguy-co-ngap", title="Vùng nguy cơ ngập lụt", category="flood",
                group="Phòng chống thiên tai", sort_order=40,
                style={"stroke": "#08519c", "fill": "#6baed6", "fill_opacity": 0.35, "by": "nguy_co",
                       "categories": {"cao": "#08306b", "trung_binh": "#4292c6", "thap": "#c6dbef"},
                       "labels": {"cao": "Nguy cơ cao", "trung_binh": "Nguy cơ trung bình", "thap": "Nguy cơ thấp"}},
                attribute_meta=[{"name": "muc_ngap", "alias": "Mức ngập"}, {"name": "nguy_co", "alias": "Nguy cơ"},
                                {"name": "chu_ky_nam", "alias": "Chu kỳ lặp lại", "unit": "năm"}])),
            (tmp / "diem_so_tan.csv", ImportOptions(
                name="diem-so-tan", title="Điểm sơ tán tránh lũ", category="disaster", group="Phòng chống thiên tai",
                style={"stroke": "#a50f15", "fill": "#ef3b2c", "radius": 6}, sort_order=50,
                attribute_meta=[{"name": "ten_diem", "alias": "Tên điểm"},
                                {"name": "suc_chua", "alias": "Sức chứa", "unit": "người"}])),
            (tmp / "dia_chi.geojson", ImportOptions(
                name="dia-chi", title="Địa chỉ số nhà", category="administrative", group="Dữ liệu nền",
                description="Số nhà theo tuyến phố, dùng để tìm địa chỉ", style={"stroke": "#525252", "radius": 2},
                # Thousands of dots: off at first, there to find addresses and to switch on when needed.
                shown_by_default=False, sort_order=60)),
        ]
        # The city's own base map: water, local streets, then the main roads over them (no external tiles needed).
        specs += [
            (tmp / "song.geojson", ImportOptions(
                name="song-ngoi", title="Sông ngòi, mặt nước", category="environment", group="Dữ liệu nền",
                style={"stroke": "#74a9cf", "fill": "#a6cee3", "weight": 1, "opacity": 0.9, "fill_opacity": 0.9})),
            (tmp / "duong_noi_bo.geojson", ImportOptions(
                name="duong-noi-bo", title="Đường nội bộ, kiệt hẻm", category="infrastructure", group="Dữ liệu nền",
                style={"stroke": "#8f8f8f", "weight": 1.5, "opacity": 0.9})),
        ]
        for path, options in specs:
            options.actor = "cli:demo-loader"
            result = import_layer(session, path, options)
            imported.append(f"{result.name} ({result.counts['stored']} {result.geometry_type})")
    base = {"song-ngoi": 0, "duong-noi-bo": 1, "mang-luoi-giao-thong": 2}
    for layer in session.scalars(select(Layer).where(Layer.name.in_(base))):
        layer.basemap, layer.basemap_order = True, base[layer.name]
    return ", ".join(imported) + f"; base map: {', '.join(base)}"


def layers_step(session: Session, context) -> str:
    return load_demo_layers(session, seed=context.options.seed, geography=context.geography)
