"""What happens to a report after it is filed: categories and routing, the workflow steps, officers' queues,
the access rules by area and unit, and report photos."""

from gisserver.core.features import DemoStep, Feature

FEATURE = Feature(
    name="reports.workflow",
    package="reports.workflow",
    blueprints=("reports.workflow.api:bp",),
    commands=("reports.workflow.cli:categories", "reports.workflow.cli:routing"),
    models=("reports.workflow.models",),
    migrations=("migrations",),
    openapi=("reports.workflow.openapi:document",),
    template_context=("reports.workflow.labels:template_labels",),
    demo_steps=(DemoStep("categories", "reports.workflow.demo:categories_step", after=("units",)),),
    hooks={"area_changed": ("reports.workflow.transitions:follow_area_change",)},
)
