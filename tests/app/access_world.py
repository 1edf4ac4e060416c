"""A small city with something of everything, and one caller of each kind, for the access-matrix tests.

Two wards (T-W, T-E): a report, a photo, a camera, a hotspot and an alert in the west ward, a report in the
east; a public and an internal layer; people with each role and grant, and machine tokens.
"""

from __future__ import annotations

import io
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import geopandas as gpd
from PIL import Image
from shapely.geometry import Point, box
from sqlalchemy import select, text

from gisserver.accounts.users import create_user, grant, issue_token, revoke_token
from layers.importing import ImportOptions, import_layer
from reports.areas.service import area_by_code
from reports.areas.units import unit_by_code
from reports.cameras.alerts import EventInput, record_event
from reports.cameras.hotspots import HotspotInput, add_hotspot
from reports.cameras.service import CameraInput, add_camera
from reports.intake.submit import ReportInput, submit_report
from reports.workflow.photos import process_photo, save_photos
from reports.workflow.transitions import transition
from tests.reports.conftest import EAST_INSIDE, WEST_INSIDE, build_small_city

PASSWORD = "correct horse battery"
# Callers: people by role and grant, machines by scope, and tokens that no longer count.
CALLERS = ("anonymous", "admin", "planner", "officer_w", "officer_e", "leader_city", "leader_w", "camera_w",
           "gauge_w", "expired", "revoked")
PEOPLE = ("admin", "planner", "officer_w", "officer_e", "leader_city", "leader_w")
STAFF = frozenset(PEOPLE)
# Grants: an area stands for its whole subtree; officers also hold their ward's two units.
GRANTS = {
    "admin": (("admin",), (), ()),
    "planner": (("planner",), (), ()),
    "officer_w": (("officer",), ("T-W",), ("T-W-CA", "T-W-UB")),
    "officer_e": (("officer",), ("T-E",), ("T-E-CA", "T-E-UB")),
    "leader_city": (("leader",), ("T",), ()),
    "leader_w": (("leader",), ("T-W",), ()),
}

# Text that must reach only those entitled to it (ASCII, so that JSON escaping cannot hide a leak).
REPORTER_NAME = "Reporter Wname"
REPORTER_PHONE = "0905111222"
STAFF_NOTE = "NOTE-W internal follow-up"
INTERNAL_TITLE = "INTERNAL-TITLE pumping stations"
INTERNAL_ATTRIBUTE = "INTERNAL-ATTR valve"
STREAM_URL = "rtsp://10.20.30.40/stream-w"
NUMBER_PANEL = {"id": "n", "chart": "number", "indicators": [{"key": "reports_received"}]}
DRAFT_PROJECT = "DRAFT-PROJECT bypass road"
SECRETS = (REPORTER_NAME, REPORTER_PHONE, STAFF_NOTE, INTERNAL_TITLE, INTERNAL_ATTRIBUTE, STREAM_URL, DRAFT_PROJECT)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def pdf_bytes() -> bytes:
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Quyet dinh")
    page.save()
    return out.getvalue()


def geojson_bytes(label: str = "x") -> bytes:
    frame = gpd.GeoDataFrame({"ten": [label]}, geometry=[Point(107.58, 16.46)], crs=4326)
    return frame.to_json().encode()


@dataclass
class World:
    app: object
    session: object
    tmp: Path
    names: dict = field(default_factory=dict)  # what paths are formatted with
    headers: dict = field(default_factory=dict)  # caller -> request headers
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    def client(self):
        return self.app.test_client()

    def commit(self):
        self.session.commit()

    # Fresh targets, for actions that change or remove what they act on.
    def new_report(self, where=WEST_INSIDE, category: str = "gay_roi") -> int:
        n = next(self.counter)
        report, _ = submit_report(self.session, ReportInput(category=category, description=f"fresh report {n}",
                                                            lon=where[0], lat=where[1], reporter_phone=REPORTER_PHONE))
        self.commit()
        return report.id

    def new_camera(self, where=WEST_INSIDE) -> str:
        code = f"CAM-X{next(self.counter)}"
        add_camera(self.session, CameraInput(code, "fresh camera", where[0] + 0.001, where[1], fov=360))
        self.commit()
        return code

    def new_layer(self) -> str:
        name = f"fresh-{next(self.counter)}"
        path = self.tmp / f"{name}.geojson"
        path.write_bytes(geojson_bytes())
        import_layer(self.session, path, ImportOptions(name=name, visibility="internal"))
        self.commit()
        return name

    def new_dashboard(self) -> int:
        """A private dashboard of the west ward's leader."""
        from reports.dashboards.service import create_dashboard

        dashboard = create_dashboard(self.session, self.leader_w(), {"title": f"fresh {next(self.counter)}",
                                                                     "panels": [NUMBER_PANEL]}, actor="test")
        self.commit()
        return dashboard.id

    def new_display(self) -> int:
        from reports.dashboards.displays import create_display

        display, _ = create_display(self.session, self.leader_w(), {"name": "wall", "dashboards": [
            self.names["dash_w"]]})
        self.commit()
        return display.id

    def leader_w(self):
        from gisserver.accounts.models import User
        from gisserver.accounts.users import principal_for_user

        return principal_for_user(self.session, self.session.scalar(select(User).where(User.username == "leader-w")))

    def new_edited_layer(self) -> dict:
        """A fresh internal layer whose only feature was deleted: {"name", "version"} of the feature's first state."""
        from layers.catalog import get_layer
        from layers.editing import delete_feature

        name = self.new_layer()
        layer = get_layer(self.session, name, include_internal=True)
        first = layer.data_version and self.session.execute(
            text("SELECT max(id) FROM layer_changes WHERE layer_id = :id"), {"id": layer.id}).scalar()
        delete_feature(self.session, layer, "1", actor="test", comment="", if_match=None)
        self.commit()
        return {"name": name, "version": first}

    def new_project(self) -> dict:
        from planning.projects import create_project

        code = f"P-{next(self.counter)}"
        create_project(self.session, {"code": code, "name": "fresh project", "status": "approved"}, actor="test")
        self.commit()
        return {"code": code}

    def new_document(self) -> dict:
        from planning.documents import DocumentLimits, add_document
        from planning.projects import get_project

        document, _ = add_document(self.session, get_project(self.session, "QH-PUB"), pdf_bytes(), title="fresh",
                                   file_name="fresh.pdf", directory=self.app.config["SETTINGS"].document_dir,
                                   limits=DocumentLimits(10**7, 100), actor="test", at=datetime.now(UTC))
        self.commit()
        return {"document": document.id}

    def new_import(self, read: bool = False) -> dict:
        """A fresh upload (received, and read into its staging table when *read*)."""
        from gisserver.accounts.models import User
        from layers import uploads

        directory = self.app.config["SETTINGS"].data_dir / "imports"
        # The planner's own upload (another planner's is a 404, tests/layers/test_workspace_api.py); admins see all.
        planner = self.session.scalar(select(User).where(User.username == "planner"))
        imp = uploads.create_import(self.session, "fresh.geojson", replace=None, actor="user:planner",
                                    directory=directory, user_id=planner.id)
        self.commit()
        if read:
            uploads.receive(self.session, imp, io.BytesIO(geojson_bytes()), directory, 10**7)
            uploads.read(self.session, imp, directory)
        return {"import": imp.id, "name": f"published-{next(self.counter)}"}

    def reset_alert(self) -> dict:
        self.session.execute(text("UPDATE alerts SET status = 'new', closed_at = NULL"))
        self.commit()
        return {}

    def moment(self) -> str:
        """A distinct past time for a reading, so that each one is stored (not a duplicate)."""
        return (datetime.now(UTC) - timedelta(minutes=next(self.counter))).isoformat()


def build_world(app, session, tmp: Path) -> World:
    world = World(app, session, tmp)
    build_small_city(session)
    session.commit()

    # Layers: one public, one internal with text only staff may read.
    parcels = gpd.GeoDataFrame({"ma_lo": ["L01"], "tang": [3]}, geometry=[box(107.58, 16.46, 107.59, 16.47)],
                               crs=4326)
    parcels.to_file(tmp / "public.geojson")
    import_layer(session, tmp / "public.geojson", ImportOptions(name="lo-dat", title="Public parcels"))
    pumps = gpd.GeoDataFrame({"ten": [INTERNAL_ATTRIBUTE]}, geometry=[Point(107.585, 16.465)], crs=4326)
    pumps.to_file(tmp / "internal.geojson")
    import_layer(session, tmp / "internal.geojson",
                 ImportOptions(name="tram-bom", title=INTERNAL_TITLE, visibility="internal"))

    # Cameras with stream addresses, a hotspot, an AI alert in the west ward.
    add_camera(session, CameraInput("CAM-W", "West camera", WEST_INSIDE[0], WEST_INSIDE[1], fov=360,
                                    ai_capabilities=("fire",), stream_url=STREAM_URL))
    camera_e = add_camera(session, CameraInput("CAM-E", "East camera", EAST_INSIDE[0], EAST_INSIDE[1], fov=360,
                                               stream_url="rtsp://10.20.30.41/stream-e"))
    add_hotspot(session, HotspotInput("HS-W", "West hotspot", WEST_INSIDE[0], WEST_INSIDE[1], 10, 20, 30))
    add_hotspot(session, HotspotInput("HS-E", "East hotspot", EAST_INSIDE[0], EAST_INSIDE[1], 10, 20, 30))
    camera_w = session.scalar(select(type(camera_e)).where(type(camera_e).code == "CAM-W"))
    alert = record_event(session, camera_w, EventInput("fire", 0.9, datetime.now(UTC) - timedelta(minutes=1))).alert

    # Reports: the west one with the reporter's contact, a staff note and a photo.
    report_w, _ = submit_report(session, ReportInput(
        category="gay_roi", description="West ward disturbance", lon=WEST_INSIDE[0], lat=WEST_INSIDE[1],
        reporter_name=REPORTER_NAME, reporter_phone=REPORTER_PHONE))
    transition(session, report_w, "acknowledge", actor="user:someone", note=STAFF_NOTE)
    report_e, _ = submit_report(session, ReportInput(
        category="dien_chieu_sang", description="East ward street light", lon=EAST_INSIDE[0], lat=EAST_INSIDE[1]))

    # People and their tokens; the officer of the west ward also has an expired and a revoked token.
    for caller, (roles, areas, units) in GRANTS.items():
        user = create_user(session, caller.replace("_", "-"), PASSWORD, roles)
        for code in areas:
            grant(session, user, area_id=area_by_code(session, code).id)
        for code in units:
            grant(session, user, unit_id=unit_by_code(session, code).id)
        _, secret = issue_token(session, caller, user=user)
        world.headers[caller] = {"Authorization": f"Bearer {secret}"}
        if caller == "officer_w":
            _, expired = issue_token(session, "old", user=user, expires_in=timedelta(hours=1),
                                     now=datetime.now(UTC) - timedelta(hours=2))
            revoked_row, revoked = issue_token(session, "lost", user=user)
            revoke_token(session, revoked_row.id)
            world.headers["expired"] = {"Authorization": f"Bearer {expired}"}
            world.headers["revoked"] = {"Authorization": f"Bearer {revoked}"}
    _, camera_secret = issue_token(session, "cam-w", scopes=["camera:CAM-W"])
    _, gauge_secret = issue_token(session, "gauge-w", scopes=["hotspot:HS-W"])
    world.headers["camera_w"] = {"Authorization": f"Bearer {camera_secret}"}
    world.headers["gauge_w"] = {"Authorization": f"Bearer {gauge_secret}"}
    world.headers["anonymous"] = {}
    session.commit()

    # A photo, stored as intake stores it.
    save_photos(session, report_w.id, [process_photo(jpeg(), max_bytes=10**7, name="photo")],
                app.config["SETTINGS"].data_dir / "photos", report_w.created_at)
    session.commit()
    photo_id = session.execute(text("SELECT id FROM report_photos WHERE report_id = :r"), {"r": report_w.id}).scalar()

    # Planning projects: a public one holding both layers and a document, and a draft only staff may see.
    from planning.projects import create_project

    create_project(session, {"code": "QH-PUB", "name": "Public zoning plan", "status": "approved",
                             "layers": ["lo-dat", "tram-bom"]}, actor="test")
    create_project(session, {"code": "QH-DRAFT", "name": DRAFT_PROJECT}, actor="test")
    session.commit()
    document = world.new_document()["document"]

    world.names.update(
        report_w=report_w.id, report_e=report_e.id, code_w=report_w.tracking_code, photo_w=photo_id,
        alert_w=alert.id, missing=report_e.id + 1000, document=document,
    )
    _dashboards(world)
    return world


def _dashboards(world: World) -> None:
    """The west leader's private dashboard, the city leader's shared with every leader, a wall display."""
    from gisserver.accounts.models import User
    from gisserver.accounts.users import principal_for_user
    from reports.dashboards.displays import create_display
    from reports.dashboards.service import create_dashboard

    session = world.session
    city = principal_for_user(session, session.scalar(select(User).where(User.username == "leader-city")))
    shared = create_dashboard(session, city, {"title": "City", "area": "T", "share": {"roles": ["leader"]},
                                              "panels": [NUMBER_PANEL, {**NUMBER_PANEL, "id": "t",
                                                                        "chart": "table"}]}, actor="test")
    private = create_dashboard(session, world.leader_w(), {"title": "Mine", "panels": [NUMBER_PANEL]},
                               actor="test")
    world.names.update(dash_shared=shared.id, dash_w=private.id)
    _, secret = create_display(session, world.leader_w(), {"name": "wall", "dashboards": [private.id]})
    session.commit()
    world.names["wall_secret"] = secret

