"""Every map page asset must come from static/vendor; none may point at a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import folium
import folium.plugins as plugins
import pytest

from gisserver.core.maps import LOCAL_ASSETS, UnvendoredAsset, offline_map, render_map

STATIC = Path(__file__).resolve().parents[2] / "static"


def test_vendored_files_exist_with_licenses():
    for relative in LOCAL_ASSETS.values():
        assert (STATIC / "vendor" / relative).is_file(), relative
    for folder in (STATIC / "vendor").iterdir():
        assert any("LICEN" in p.name.upper() for p in folder.iterdir()), f"{folder.name} has no license file"
        assert (folder / "VERSION").read_text().strip(), folder.name


def test_map_with_plugins_loads_only_local_assets():
    m = offline_map([16.46, 107.58], 12, basemap_url="http://tiles.internal/{z}/{x}/{y}.png")
    plugins.MarkerCluster().add_to(m)
    plugins.Draw().add_to(m)
    plugins.Fullscreen().add_to(m)
    plugins.VectorGridProtobuf("/collections/roads/tiles/WebMercatorQuad/{z}/{x}/{y}", "roads").add_to(m)
    folium.Marker([16.46, 107.58], icon=folium.Icon(icon="camera", prefix="fa")).add_to(m)
    html = render_map(m, "/static")
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/static/vendor/") for a in assets), assets
    for asset in assets:
        assert (STATIC / asset.removeprefix("/static/")).is_file(), asset
    assert "http://tiles.internal/{z}/{x}/{y}.png" in html  # the configured base map


def test_map_without_basemap_has_no_tile_layer():
    html = render_map(offline_map([16.46, 107.58], 12), "/static")
    assert "L.tileLayer" not in html


def test_unvendored_plugin_is_refused():
    m = offline_map([16.46, 107.58], 12)
    plugins.Geocoder().add_to(m)
    with pytest.raises(UnvendoredAsset):
        render_map(m, "/static")
