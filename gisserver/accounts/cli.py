"""`gisserver users ...` and `gisserver tokens ...`: people, their grants, and API tokens."""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select, text

from gisserver.accounts import twofactor
from gisserver.accounts.models import ApiToken, User, UserGrant
from gisserver.accounts.users import (
    NEVER,
    create_user,
    end_sessions,
    get_user,
    grant,
    issue_token,
    revoke_token,
    set_password,
)
from gisserver.core.exceptions import NotFound, ServiceError


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


# Areas and units belong to reports/; only their codes are looked up here, so users stay a base feature.
_AREA_ID = text("SELECT id FROM areas WHERE code = :code")
_UNIT_ID = text("SELECT id FROM units WHERE code = :code")
_GRANT_CODES = text("""
SELECT coalesce('area:' || a.code, 'unit:' || u.code)
FROM user_grants g LEFT JOIN areas a ON a.id = g.area_id LEFT JOIN units u ON u.id = g.unit_id
WHERE g.user_id = :user ORDER BY 1
""")


def _id_of(session, query, kind: str, code: str | None) -> int | None:
    if code is None:
        return None
    found = session.execute(query, {"code": code}).scalar()
    if found is None:
        raise NotFound(f"no {kind} with code {code!r}")
    return found


@users.command("grant")
@click.argument("username")
@click.option("--area", "area_code", help="an area code (its whole subtree is granted)")
@click.option("--unit", "unit_code", help="a unit code whose queue the user works on")
@click.option("--area-id", type=int, help="an area by id")
@click.option("--unit-id", type=int, help="a unit by id")
@with_appcontext
def users_grant(username, area_code, unit_code, area_id, unit_id) -> None:
    """Grant a user an area or a unit."""
    try:
        with _transaction() as session:
            area_id = area_id or _id_of(session, _AREA_ID, "area", area_code)
            unit_id = unit_id or _id_of(session, _UNIT_ID, "unit", unit_code)
            grant(session, get_user(session, username), area_id=area_id, unit_id=unit_id)
    except ServiceError as exc:
        _fail(exc)
    click.echo("granted")


@users.command("revoke-grants")
@click.argument("username")
@with_appcontext
def users_revoke_grants(username) -> None:
    """Take every area and unit away from a user."""
    try:
        with _transaction() as session:
            user = get_user(session, username)
            for row in session.scalars(select(UserGrant).where(UserGrant.user_id == user.id)):
                session.delete(row)
    except ServiceError as exc:
        _fail(exc)
    click.echo("grants revoked")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """List users, their roles and what they are granted."""
    with _transaction() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            state = ("" if user.active else " (inactive)") + (" (2fa)" if twofactor.is_enrolled(user) else "")
            grants = ",".join(session.execute(_GRANT_CODES, {"user": user.id}).scalars())
            click.echo(f"{user.username}\t{','.join(user.roles)}{state}\t{grants}".rstrip("\t"))


@users.command("password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def users_password(username, password) -> None:
    """Set a user's password; their browsers are signed out."""
    try:
        with _transaction() as session:
            set_password(session, get_user(session, username), password)
    except ServiceError as exc:
        _fail(exc)
    click.echo("password changed")


@users.command("deactivate")
@click.argument("username")
@with_appcontext
def users_deactivate(username) -> None:
    """Stop a user: no sign-in, their sessions and tokens stop working at once."""
    try:
        with _transaction() as session:
            user = get_user(session, username)
            user.active = False
            ended = end_sessions(session, user)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"deactivated ({ended} session(s) ended)")


@users.command("activate")
@click.argument("username")
@with_appcontext
def users_activate(username) -> None:
    """Let a deactivated user sign in again."""
    try:
        with _transaction() as session:
            get_user(session, username).active = True
    except ServiceError as exc:
        _fail(exc)
    click.echo("activated")


@users.command("require-2fa")
@click.argument("role", required=False)
@click.option("--off", is_flag=True, help="stop requiring it of the role (people may still keep it on)")
@with_appcontext
def users_require_2fa(role, off) -> None:
    """Require two-factor sign-in of everyone with ROLE (admins and planners by default); without ROLE, show
    which roles must."""
    try:
        with _transaction() as session:
            roles = twofactor.set_required(session, role, not off) if role else twofactor.required_roles(session)
    except ServiceError as exc:
        _fail(exc)
    click.echo(f"two-factor sign-in required for: {', '.join(sorted(roles)) or 'nobody'}")


@users.command("reset-2fa")
@click.argument("username")
@with_appcontext
def users_reset_2fa(username) -> None:
    """Forget a user's authenticator and recovery codes (a lost phone); their browsers are signed out and the
    next sign-in sets up a new one when their role requires it."""
    try:
        with _transaction() as session:
            user = get_user(session, username)
            twofactor.turn_off(session, user, by_admin=True)
            end_sessions(session, user)
    except ServiceError as exc:
        _fail(exc)
    click.echo("two-factor sign-in reset")


@click.group("tokens")
def tokens() -> None:
    """Issue and revoke API tokens for people and machines."""


@tokens.command("issue")
@click.argument("name")
@click.option("--user", "username", help="the token acts as this user")
@click.option("--scope", "scopes", multiple=True,
              help="what a machine may do: camera:<code>, hotspot:<code>, readings:write (every gauge), "
                   "reports:file (file reports through the API), open311 (an Open311 application's api_key)")
@click.option("--expires-days", type=click.IntRange(min=1), default=None,
              help="days until the token stops working (default: 90 for a user's token, 365 for a device's)")
@click.option("--never-expires", is_flag=True, help="a token without an end (revoke it by hand)")
@with_appcontext
def tokens_issue(name, username, scopes, expires_days, never_expires) -> None:
    """Issue a token and print its secret (shown only this once)."""
    if expires_days and never_expires:
        raise click.UsageError("choose --expires-days or --never-expires, not both")
    try:
        with _transaction() as session:
            user = get_user(session, username) if username else None
            expires = NEVER if never_expires else (timedelta(days=expires_days) if expires_days else None)
            token, secret = issue_token(session, name, user=user, scopes=scopes, expires_in=expires)
            ends = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "never expires"
            click.echo(f"token {token.id} ({name}, {ends}): {secret}")
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
