"""Import every package's models so that Base.metadata knows all tables."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "gisserver.users",
    "gisserver.meta",
    "gisserver.audit",
    "gisserver.ratelimit",
    "layers.models",
    "reports.models",
    "reports.photos",
    "reports.camera_models",
    "reports.gazetteer",
    "reports.summary_models",
)


def import_all_models() -> None:
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
