"""`gisserver users ...` and `gisserver tokens ...`: people, their grants, and API tokens."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from gisserver.exceptions import ServiceError
from gisserver.users import ApiToken, User, create_user, get_user, grant, issue_token, revoke_token


def _transaction():
    return current_app.extensions["gisserver.db"].transaction()


def _fail(exc: ServiceError):
    raise click.ClickException(exc.message) from exc


@click.group("users")
def users() -> None:
    """Manage users, their roles and grants."""


@users.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="admin, planner, officer or leader")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", "display_name", default="")
@with_appcontext
def users_create(username, roles, password, display_name) -> None:
    """Create a user."""
    try:
        with _transaction() as session:
            user = create_user(session, username, password, roles, display_name)
            click.echo(f"created user {user.username} ({', '.join(user.roles)})")
    except ServiceError as exc:
        _fail(exc)


@users.command("grant")
@click.argument("username")
@click.option("--area-id", type=int, help="an area (its whole subtree is granted)")
@click.option("--unit-id", type=int, help="a unit whose queue the user works on")
@with_appcontext
def users_grant(username, area_id, unit_id) -> None:
    """Grant a user an area or a unit."""
    try:
        with _transaction() as session:
            grant(session, get_user(session, username), area_id=area_id, unit_id=unit_id)
    except ServiceError as exc:
        _fail(exc)
    click.echo("granted")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """List users and their roles."""
    with _transaction() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            state = "" if user.active else " (inactive)"
            click.echo(f"{user.username}\t{','.join(user.roles)}{state}")


@click.group("tokens")
def tokens() -> None:
    """Issue and revoke API tokens for people and machines."""


@tokens.command("issue")
@click.argument("name")
@click.option("--user", "username", help="the token acts as this user")
@click.option("--scope", "scopes", multiple=True, help="e.g. camera:CAM-0001 or readings:write")
@click.option("--expires-days", type=int, default=None)
@with_appcontext
def tokens_issue(name, username, scopes, expires_days) -> None:
    """Issue a token and print its secret (shown only this once)."""
    try:
        with _transaction() as session:
            user = get_user(session, username) if username else None
            expires = timedelta(days=expires_days) if expires_days else None
            token, secret = issue_token(session, name, user=user, scopes=scopes, expires_in=expires)
            click.echo(f"token {token.id} ({name}): {secret}")
    except ServiceError as exc:
        _fail(exc)


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id) -> None:
    """Revoke a token by id."""
    try:
        with _transaction() as session:
            revoke_token(session, token_id)
    except ServiceError as exc:
        _fail(exc)
    click.echo("revoked")


@tokens.command("list")
@with_appcontext
def tokens_list() -> None:
    """List tokens (never their secrets)."""
    with _transaction() as session:
        for t in session.scalars(select(ApiToken).order_by(ApiToken.id)):
            state = "revoked" if t.revoked_at else (f"expires {t.expires_at:%Y-%m-%d}" if t.expires_at else "active")
            click.echo(f"{t.id}\t{t.name}\t{','.join(t.scopes)}\t{state}")
