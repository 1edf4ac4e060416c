"""`gisserver projects ...`: planning projects from the command line, as through the API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from gisserver.core.audit import cli_actor
from gisserver.core.commands import run_in_transaction
from planning.models import STATUSES


@click.group("projects")
def projects_group() -> None:
    """Planning projects: their decisions, areas, layers and documents."""


def _fields(values: dict) -> dict:
    data = {k: v for k, v in values.items() if v is not None}
    if "areas" in data:
        data["areas"] = [a for a in data["areas"].split(",") if a]
    if "layers" in data:
        data["layers"] = [n for n in data["layers"].split(",") if n]
    return data


def _options(function):
    for option in reversed([
        click.option("--name"), click.option("--description"),
        click.option("--decision-number", "decision_number", help="e.g. 1234/QĐ-UBND"),
        click.option("--decision-date", "decision_date", help="YYYY-MM-DD"),
        click.option("--approving-body", "approving_body", help="e.g. UBND tỉnh Thừa Thiên Huế"),
        click.option("--status", type=click.Choice(STATUSES)),
        click.option("--areas", help="comma-separated area codes"),
        click.option("--layers", help="comma-separated layer names (the project's layers become exactly these)"),
    ]):
        function = option(function)
    return function


@projects_group.command("create")
@click.argument("code")
@_options
@with_appcontext
def create_command(code, **values) -> None:
    """Create project CODE (--name is required)."""
    from planning.projects import create_project

    data = {"code": code, **_fields(values)}
    run_in_transaction(lambda s: create_project(s, data, actor=cli_actor()["actor"]))
    click.echo(f"created project {code}")


@projects_group.command("update")
@click.argument("code")
@_options
@with_appcontext
def update_command(code, **values) -> None:
    """Change project CODE."""
    from planning.projects import get_project, update_project

    data = _fields(values)
    run_in_transaction(lambda s: update_project(s, get_project(s, code, include_drafts=True), data,
                                                actor=cli_actor()["actor"]))
    click.echo(f"updated project {code}")


@projects_group.command("list")
@click.option("--area", help="an area code: projects concerning it")
@click.option("--status", type=click.Choice(STATUSES))
@click.option("--year", type=int, help="year of the decision")
@click.option("--search", help="text in the name, code or decision number (diacritics optional)")
@with_appcontext
def list_command(area, status, year, search) -> None:
    """List projects (drafts included)."""
    from planning.projects import ProjectFilter, list_projects

    def work(session):
        f = ProjectFilter(area=area, status=status, year=year, text=search, include_drafts=True)
        for p in list_projects(session, f):
            decided = p.decision_date.isoformat() if p.decision_date else ""
            click.echo(f"{p.code}\t{p.status}\t{decided}\t{p.decision_number or ''}\t{p.name}")

    run_in_transaction(work)


@projects_group.command("show")
@click.argument("code")
@with_appcontext
def show_command(code) -> None:
    """Show project CODE with its layers and documents, as JSON."""
    from planning.projects import documents_of, get_project, layers_of, project_json

    def work(session):
        project = get_project(session, code, include_drafts=True)
        return project_json(project, layers_of(session, project, include_internal=True),
                            documents_of(session, project))

    click.echo(json.dumps(run_in_transaction(work), ensure_ascii=False, indent=2))


@projects_group.command("delete")
@click.argument("code")
@click.option("--yes", is_flag=True, help="do not ask")
@with_appcontext
def delete_command(code, yes) -> None:
    """Delete project CODE and its documents (its layers stay)."""
    from planning.documents import remove_files
    from planning.projects import delete_project, get_project

    if not yes:
        click.confirm(f"delete project {code} and its documents?", abort=True)
    paths = run_in_transaction(lambda s: delete_project(s, get_project(s, code, include_drafts=True)))
    remove_files(current_app.config["SETTINGS"].document_dir, paths)
    click.echo(f"deleted project {code}")


@projects_group.command("add-document")
@click.argument("code")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--title", default=None)
@with_appcontext
def add_document_command(code, path, title) -> None:
    """Attach the PDF at PATH to project CODE (checked like an upload)."""
    from planning.documents import DocumentLimits, add_document
    from planning.projects import get_project

    settings = current_app.config["SETTINGS"]
    limits = DocumentLimits(settings.document_max_mb * 1024**2, settings.document_max_count)
    raw = Path(path).read_bytes()
    written = []

    def work(session):
        document, target = add_document(session, get_project(session, code, include_drafts=True), raw, title=title,
                                        file_name=Path(path).name, directory=settings.document_dir, limits=limits,
                                        actor=cli_actor()["actor"], at=datetime.now(UTC))
        written.append(target)
        return document.id, document.pages

    try:
        document_id, pages = run_in_transaction(work)
    except BaseException:
        for target in written:
            target.unlink(missing_ok=True)
        raise
    click.echo(f"attached document {document_id} ({pages} pages) to {code}")
