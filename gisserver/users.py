"""Users, their roles and grants, and API tokens for people and machines (no Flask here)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ARRAY, Boolean, DateTime, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from gisserver.db import Base
from gisserver.exceptions import Conflict, Invalid, NotFound

ROLES = ("admin", "planner", "officer", "leader")
DEVICE_ROLE = "device"
TOKEN_PREFIX = "gs_"
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 10


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(Text, default="")
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UserGrant(Base):
    """An area (with its whole subtree) or a unit a user may work on."""

    __tablename__ = "user_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    area_id: Mapped[int | None] = mapped_column(Integer)
    unit_id: Mapped[int | None] = mapped_column(Integer)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored. Device tokens have no user and carry scopes."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class Principal:
    """Who is making a request, and what they were granted."""

    kind: str  # "user" or "token"
    id: int
    name: str
    roles: frozenset[str]
    area_ids: frozenset[int] = frozenset()
    unit_ids: frozenset[int] = frozenset()
    scopes: frozenset[str] = frozenset()

    def has_role(self, *roles: str) -> bool:
        return "admin" in self.roles or bool(self.roles.intersection(roles))


def _validate_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise Invalid(f"unknown role(s): {', '.join(unknown)}; known: {', '.join(ROLES)}")
    return roles


def create_user(session: Session, username: str, password: str, roles, display_name: str = "") -> User:
    """Create a user with a hashed password; usernames are lower-case slugs."""
    if not _USERNAME.match(username or ""):
        raise Invalid("username must be 2-63 lower-case letters, digits, '.', '_' or '-'")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user {username} exists")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=generate_password_hash(password),
        roles=_validate_roles(roles),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username}")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for unknown user and bad password)."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        # Hash anyway so that response time does not reveal which usernames exist.
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    return user if check_password_hash(user.password_hash, password or "") else None


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def grant(session: Session, user: User, *, area_id: int | None = None, unit_id: int | None = None) -> None:
    if (area_id is None) == (unit_id is None):
        raise Invalid("grant exactly one of an area or a unit")
    session.add(UserGrant(user_id=user.id, area_id=area_id, unit_id=unit_id))
    session.flush()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    name: str,
    *,
    user: User | None = None,
    scopes=(),
    expires_in: timedelta | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is shown once and never stored."""
    if user is None and not scopes:
        raise Invalid("a device token needs at least one scope")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or datetime.now(UTC)
    token = ApiToken(
        name=name,
        token_hash=_hash_token(secret),
        user_id=user.id if user else None,
        scopes=sorted(set(scopes)),
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(token)
    session.flush()
    return token, secret


def revoke_token(session: Session, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    token.revoked_at = token.revoked_at or datetime.now(UTC)


def principal_for_user(session: Session, user: User) -> Principal:
    grants = session.scalars(select(UserGrant).where(UserGrant.user_id == user.id)).all()
    return Principal(
        kind="user",
        id=user.id,
        name=user.username,
        roles=frozenset(user.roles),
        area_ids=frozenset(g.area_id for g in grants if g.area_id is not None),
        unit_ids=frozenset(g.unit_id for g in grants if g.unit_id is not None),
    )


def principal_for_token(session: Session, secret: str, now: datetime | None = None) -> Principal | None:
    """The principal a bearer token stands for, or None when unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = now or datetime.now(UTC)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret)))
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    token.last_used_at = now
    if token.user_id is None:
        return Principal(
            kind="token", id=token.id, name=token.name, roles=frozenset({DEVICE_ROLE}), scopes=frozenset(token.scopes)
        )
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    base = principal_for_user(session, user)
    return Principal(
        kind="token",
        id=token.id,
        name=user.username,
        roles=base.roles,
        area_ids=base.area_ids,
        unit_ids=base.unit_ids,
        scopes=frozenset(token.scopes),
    )
