"""The leader map: an area's children shaded by an indicator, with class breaks from mapclassify."""

from __future__ import annotations

import json
import warnings
from datetime import datetime

import numpy as np
from sqlalchemy.orm import Session

from gisserver.accounts.users import Principal
from reports.summaries import sql
from reports.summaries.figures import INDICATORS, SummaryQuery, summarize

MAX_CLASSES = 5
# ColorBrewer (Cynthia Brewer, Apache 2.0): light to dark.
PALETTES = {
    "good": ["#edf8e9", "#bae4b3", "#74c476", "#31a354", "#006d2c"],  # Greens: higher is better
    "bad": ["#fef0d9", "#fdcc8a", "#fc8d59", "#e34a33", "#b30000"],  # OrRd: higher is worse
    "neutral": ["#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c"],  # Blues: volume
}
NO_DATA = "#d9d9d9"
KIND = {"reports_received": "neutral", "dossiers_received": "neutral", "reports_overdue": "bad"}


def class_breaks(values: list[float | None], k: int = MAX_CLASSES) -> dict:
    """Fisher-Jenks natural breaks of the values present (fewer classes when there are fewer distinct values)."""
    present = np.array([v for v in values if v is not None], dtype=float)
    if present.size == 0:
        return {"scheme": None, "k": 0, "lower": None, "bins": []}
    distinct = np.unique(present)
    k = min(k, distinct.size)
    if k == 1:
        return {"scheme": "single", "k": 1, "lower": float(distinct[0]), "bins": [float(distinct[0])]}
    # Imported here: mapclassify pulls in scipy and scikit-learn, a second of start-up for every worker and
    # every CLI command, where only the leader map needs it.
    import mapclassify

    with warnings.catch_warnings():
        # mapclassify suggests numba for speed; a few dozen areas need none.
        warnings.filterwarnings("ignore", message="Numba not installed")
        classifier = mapclassify.FisherJenks(present, k=k)
    return {"scheme": "fisher_jenks", "k": int(classifier.k), "lower": float(present.min()),
            "bins": [float(b) for b in classifier.bins]}


def class_of(value: float | None, bins: list[float]) -> int | None:
    if value is None or not bins:
        return None
    for i, upper in enumerate(bins):
        if value <= upper:
            return i
    return len(bins) - 1


def colours(kind: str, k: int) -> list[str]:
    palette = PALETTES[kind]
    if k <= 1:
        return [palette[2]] if k == 1 else []
    return [palette[round(i * (len(palette) - 1) / (k - 1))] for i in range(k)]


def indicator_map(session: Session, principal: Principal, query: SummaryQuery, indicator: str,
                  now: datetime | None = None) -> dict:
    """The children of an area as GeoJSON features carrying the indicator, its class and colour."""
    summary = summarize(session, principal, query, rank_by=indicator, now=now)
    section, figure, _ = INDICATORS[indicator]
    children = summary["children"]
    values = [c[section][figure] for c in children]
    breaks = class_breaks(values)
    kind = KIND.get(indicator, "good")
    palette = colours(kind, breaks["k"])
    ids = {c["id"]: c for c in children}
    shapes = {row.id: row.geometry for row in session.execute(
        sql.AREA_SHAPES, {"ids": [*ids, summary["area"]["id"]], "tolerance": 0.0002})}
    ranks = {code: i + 1 for i, code in enumerate(summary["ranking"]["order"])}
    features = []
    for child in children:
        value = child[section][figure]
        cls = class_of(value, breaks["bins"])
        features.append({
            "type": "Feature", "id": child["code"],
            "geometry": json.loads(shapes[child["id"]]) if shapes.get(child["id"]) else None,
            "properties": {
                "code": child["code"], "name": child["name"], "level": child["level"],
                "current": child["valid_to"] is None, "has_children": child["has_children"],
                "value": value, "class": cls, "colour": palette[cls] if cls is not None else NO_DATA,
                "rank": ranks.get(child["code"]), "reports": child["reports"], "dossiers": child["dossiers"],
            },
        })
    outline = shapes.get(summary["area"]["id"])
    return {
        "type": "FeatureCollection", "features": features,
        "area": summary["area"], "outline": json.loads(outline) if outline else None,
        "breadcrumb": summary["breadcrumb"], "period": summary["period"], "engine": summary["engine"],
        "indicator": indicator, "figure": figure,
        "legend": {**breaks, "colours": palette, "no_data": NO_DATA,
                   "format": "percent" if figure.endswith(("rate", "share")) else "count"},
        "totals": {"reports": summary["reports"]["totals"], "dossiers": summary["dossiers"]["totals"]},
    }
