"""The demo city loads through the services, in full shape, once."""

from sqlalchemy import func, select

from gisserver.core.meta import get_meta
from layers.models import Layer
from planning.models import Project
from reports.areas.models import Area, Unit
from reports.cameras.models import AiEvent, Alert, Camera, Hotspot, HotspotReading
from reports.workflow.models import Report


def count(db, model, *where):
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_demo_load_small_then_again(cli, db, client):
    result = cli("demo", "load", "--small")
    assert result.exit_code == 0, result.output
    db.rollback()
    assert count(db, Area, Area.level == "city") == 1
    assert count(db, Area, Area.level == "ward") == 40
    assert count(db, Area, Area.level == "group") >= 80
    assert count(db, Unit, Unit.unit_type == "ward_police") == 40
    assert count(db, Layer) == 8
    # Its river, local streets and roads are its own base map; its projects hold its layers.
    assert count(db, Layer, Layer.basemap.is_(True)) == 3
    assert count(db, Project) == 3
    assert count(db, Camera) == 80 and count(db, Camera, func.cardinality(Camera.ai_capabilities) > 0) == 27
    assert count(db, Hotspot) == 50 and count(db, HotspotReading) == 50 * 80
    assert count(db, Alert) > 10 and count(db, AiEvent) >= count(db, Alert)
    # Residents reported some of what the AI cameras saw: those alerts are linked to their reports.
    assert count(db, Alert, Alert.linked_report_id.is_not(None)) > 0
    reports = count(db, Report)
    assert reports > 60
    # Reports landed in wards and were routed to a ward unit, as the services would do.
    assert count(db, Report, Report.area_current_id.is_(None)) == 0
    assert count(db, Report, Report.unit_id.is_(None)) == 0
    assert get_meta(db, "demo_city")["seed"] == 2025
    again = cli("demo", "load", "--small")
    assert again.exit_code == 0 and "already loaded" in again.output
    db.rollback()
    assert count(db, Report) == reports
    # The demo shows on the API: the public layers listed (the drainage network is internal), hotspots with
    # a status, cameras with health.
    public_layers = {layer["name"] for layer in client.get("/api/layers").get_json()["layers"]}
    assert len(public_layers) == 7 and "thoat-nuoc-mua" not in public_layers
    assert client.get("/ogc/collections/thoat-nuoc-mua/items").status_code == 404
    assert client.get("/api/geocode?q=le loi").get_json()["places"]
    hotspots = client.get("/api/hotspots").get_json()["hotspots"]
    assert len(hotspots) == 50 and all(h["status"] != "unknown" for h in hotspots)
    pulse = cli("demo", "pulse")
    assert pulse.exit_code == 0 and "reported in" in pulse.output
    cams = client.get("/api/cameras").get_json()["cameras"]
    assert sum(c["health"] == "online" for c in cams) > 60 and "stream_url" not in cams[0]


def test_the_gazetteer_step_goes_on_without_the_demos_address_layer(db):
    """A city that imported its own layers first keeps them (the layers step leaves them alone), so the demo's
    address layer is not there: the gazetteer step says so instead of stopping the load half-way."""
    from reports.areas.demo import gazetteer_step
    from reports.areas.models import GazetteerEntry

    said = gazetteer_step(db, None)
    assert said == "skipped: no layer 'dia-chi' to read addresses from"
    assert count(db, GazetteerEntry) == 0
