"""Citizen reports and everything routed like them, one folder per domain, each building on those before it:

areas (administrative areas, mergers, units, gazetteer) <- workflow (categories, routing, reports' steps, queues,
access) <- intake (filing from every channel, QR keychains, Open311) <- cameras (cameras, hotspots, AI alerts)
<- notifications (outbox, worker, channels, live map)
<- operations (the officers' map and report page) and summaries (leaders' figures, dossiers, exports)
<- dashboards (leaders' dashboards over the summaries' figures and the layers' statistics, wall screens).
"""

from reports.areas import FEATURE as AREAS
from reports.cameras import FEATURE as CAMERAS
from reports.dashboards import FEATURE as DASHBOARDS
from reports.intake import FEATURE as INTAKE
from reports.notifications import FEATURE as NOTIFICATIONS
from reports.operations import FEATURE as OPERATIONS
from reports.summaries import FEATURE as SUMMARIES
from reports.workflow import FEATURE as WORKFLOW

FEATURES = (AREAS, WORKFLOW, INTAKE, CAMERAS, NOTIFICATIONS, OPERATIONS, SUMMARIES, DASHBOARDS)
