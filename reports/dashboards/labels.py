"""What the dashboards call their indicators, charts and units, with the definitions leaders read (vi/en)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

INDICATOR_LABELS = {
    "reports_received": _l("Reports received"),
    "reports_closed": _l("Reports closed"),
    "reports_resolved": _l("Reports resolved"),
    "reports_open": _l("Reports still open"),
    "reports_overdue": _l("Reports overdue"),
    "reports_late": _l("Reports closed late"),
    "reports_on_time_rate": _l("Reports handled on time"),
    "reports_handling_median": _l("Median handling time"),
    "reports_handling_p90": _l("Handling time, 90th percentile"),
    "dossiers_received": _l("Dossiers received"),
    "dossiers_finished": _l("Dossiers finished"),
    "dossiers_in_progress": _l("Dossiers in progress"),
    "dossiers_overdue": _l("Dossiers overdue"),
    "dossiers_late": _l("Dossiers finished late"),
    "dossiers_on_time_rate": _l("Dossiers on time"),
    "dossiers_online_share": _l("Dossiers submitted online"),
    "alerts_received": _l("Camera alerts"),
    "alerts_open": _l("Camera alerts still open"),
    "alerts_overdue": _l("Camera alerts overdue"),
    "alerts_on_time_rate": _l("Camera alerts closed on time"),
    "cameras_online": _l("Cameras online"),
    "cameras_offline": _l("Cameras offline"),
    "cameras_online_share": _l("Share of cameras online"),
    "hotspots_warning": _l("Flood hotspots at warning or above"),
    "hotspots_danger": _l("Flood hotspots at danger"),
    "hotspot_levels": _l("Water levels at flood hotspots"),
    "layer_count": _l("Features of a layer"),
    "layer_length": _l("Length of a layer's lines"),
    "layer_area": _l("Area of a layer's polygons"),
}

DEFINITIONS = {
    "reports_received": _l("Citizen reports filed in the period in the area (a duplicate merged into another "
                           "report is counted once, in that report)."),
    "reports_closed": _l("Reports of the period resolved or rejected by now."),
    "reports_resolved": _l("Reports of the period resolved by now."),
    "reports_open": _l("Reports of the period not yet resolved or rejected."),
    "reports_overdue": _l("Reports of the period still open and past their deadline."),
    "reports_late": _l("Reports of the period closed after their deadline."),
    "reports_on_time_rate": _l("Of the reports of the period closed by now, the share closed by their deadline."),
    "reports_handling_median": _l("Half of the reports closed were closed within this many hours of being filed."),
    "reports_handling_p90": _l("Nine in ten of the reports closed were closed within this many hours."),
    "dossiers_received": _l("Administrative dossiers received by the one-stop shops in the period."),
    "dossiers_finished": _l("Dossiers of the period whose result has been returned."),
    "dossiers_in_progress": _l("Dossiers of the period still being handled."),
    "dossiers_overdue": _l("Dossiers of the period still being handled past their due date."),
    "dossiers_late": _l("Dossiers of the period finished after their due date."),
    "dossiers_on_time_rate": _l("Of the dossiers finished, the share finished by their due date."),
    "dossiers_online_share": _l("The share of the period's dossiers submitted online."),
    "alerts_received": _l("Alerts raised by the AI cameras in the period (repeated detections of one event are one "
                          "alert)."),
    "alerts_open": _l("Alerts of the period not yet resolved or rejected."),
    "alerts_overdue": _l("Alerts of the period still open past their deadline."),
    "alerts_on_time_rate": _l("Of the alerts closed, the share closed by their deadline."),
    "cameras_online": _l("Cameras that sent a heartbeat in the last minutes (now, whatever the period)."),
    "cameras_offline": _l("Active cameras that have not been heard from recently (now)."),
    "cameras_online_share": _l("Cameras online as a share of all cameras in the area (now)."),
    "hotspots_warning": _l("Flood hotspots whose latest water level is at the warning or danger threshold (now)."),
    "hotspots_danger": _l("Flood hotspots whose latest water level is at the danger threshold (now)."),
    "hotspot_levels": _l("The latest water level of each flood hotspot against its watch, warning and danger "
                         "thresholds; as one figure, the highest level as a share of its danger threshold."),
    "layer_count": _l("How many features of the layer lie in the area (a feature counts where its point on "
                      "surface lies, so it counts in one area only); with an overlay, only those touching a "
                      "feature of the other layer."),
    "layer_length": _l("Kilometres of the layer's lines inside the area, measured on the ellipsoid; with an "
                       "overlay, only the part inside the other layer's polygons."),
    "layer_area": _l("Hectares of the layer's polygons inside the area, measured on the ellipsoid; with an overlay, "
                     "only the part inside the other layer's polygons."),
}

UNITS = {"count": "", "percent": "%", "hours": _l("hours"), "km": "km", "ha": "ha", "cm": "cm"}
CHARTS = {
    "number": _l("Number with trend"), "line": _l("Line chart"), "bar": _l("Bar chart"),
    "stacked": _l("Stacked bars"), "ranking": _l("Ranking of areas"), "choropleth": _l("Map of areas"),
    "table": _l("Table"), "gauge": _l("Gauge"),
}
DIMENSIONS = {"value": _l("One figure"), "time": _l("Over time"), "children": _l("By area"),
              "group": _l("By kind"), "items": _l("By hotspot")}
GROUPS = {"category": _l("category"), "channel": _l("channel"), "unit": _l("unit"), "type": _l("alert type")}
WORDS = {
    "dashboards": _l("Dashboards"), "mine": _l("My dashboards"), "shared": _l("Shared with me"),
    "templates": _l("Ward templates"), "compare": _l("Compare with"), "previous": _l("previous period"),
    "other": _l("other"), "no_value": _l("(no value)"), "not_in_scope": _l("not in your areas"),
    "no_data": _l("no data"), "period": _l("Period"), "area": _l("Area"), "category": _l("Category"),
    "all_categories": _l("All categories"), "last_days": _l("last {n} days"), "generated": _l("Generated"),
    "definitions": _l("Definitions"), "indicator": _l("Indicator"), "definition": _l("Definition"),
    "unit": _l("Unit"), "panel": _l("Panel"), "value": _l("Value"), "key": _l("Key"), "side": _l("Side"),
    "dashboard_area": _l("The dashboard's area"), "saved": _l("Saved."),
    "unsaved": _l("Leave without saving your changes?"), "move_left": _l("Move before"),
    "move_right": _l("Move after"), "edit_panel": _l("Change this panel"), "remove_panel": _l("Remove this panel"),
    "offline": _l("No connection to the server since"), "updated": _l("Updated"),
    "new_title": _l("New dashboard"), "wall": _l("Wall screen"),
    "mail_to": _l("To {email}, the address of your notification choices."),
    "mail_no_email": _l("Give your email in your notification choices first:"),
    "mail_on": _l("You get this dashboard every {day} at {hour}."),
    "mail_off": _l("You do not get this dashboard by mail."),
    "my_notifications": _l("My notifications"),
    "no_display": _l("This screen has no valid display link. Open the link the dashboard's owner made (it may "
                     "have been revoked)."),
}
FAMILIES = {"reports": _l("Citizen reports"), "dossiers": _l("Administrative dossiers"),
            "alerts": _l("Camera alerts"), "cameras": _l("Cameras"), "hotspots": _l("Flood hotspots"),
            "layers": _l("Planning layers")}

# The weekly mail's day (ISO numbers: 1 = Monday).
WEEKDAYS = {1: _l("Monday"), 2: _l("Tuesday"), 3: _l("Wednesday"), 4: _l("Thursday"), 5: _l("Friday"),
            6: _l("Saturday"), 7: _l("Sunday")}

# The records behind camera and hotspot figures, in the reader's words.
CAMERA_HEALTH = {"online": _l("online"), "offline": _l("offline"), "maintenance": _l("under maintenance")}
HOTSPOT_STATUS = {"normal": _l("Normal"), "watch": _l("Watch"), "warning": _l("Warning"), "danger": _l("Danger"),
                  "unknown": _l("No reading yet")}
