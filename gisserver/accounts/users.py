"""Users, their roles and grants, and API tokens for people and machines (no Flask here)."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from gisserver.accounts.models import ApiToken, User, UserGrant, UserSession
from gisserver.core.exceptions import Conflict, Invalid, NotFound

ROLES = ("admin", "planner", "officer", "leader")
DEVICE_ROLE = "device"
TOKEN_PREFIX = "gs_"  # noqa: S105 - a marker on every token, not a secret
SESSION_LIFETIME = timedelta(hours=12)
SESSION_KEPT = timedelta(days=90)  # sessions long over stay this long (when and from where people signed in)
# A token's last use is recorded at most this often, so that reading with a token is not a write each time.
LAST_USED_RESOLUTION = timedelta(minutes=5)
# A token nobody remembers issuing should not work for ever: people's tokens end after a quarter, devices' after a
# year (a camera is re-provisioned about that often); a token without an end must be asked for by name.
USER_TOKEN_LIFETIME = timedelta(days=90)
DEVICE_TOKEN_LIFETIME = timedelta(days=365)
NEVER = "never"
PASSWORD_METHOD = "scrypt"  # noqa: S105 - a hash algorithm's name  # werkzeug's default; older hashes are upgraded at the next sign-in
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD_LENGTH = 10


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
    # The person behind the caller (a session, or a token issued for a user); None for machines.
    user_id: int | None = None
    # A registered application's key (Open311's api_key) rather than a bearer token.
    api_key: bool = False

    @property
    def actor(self) -> str:
        """How history and the audit log name the caller: "user:<name>", "token:<name>", "app:<name>"."""
        return f"{'app' if self.api_key else self.kind}:{self.name}"

    def has_role(self, *roles: str) -> bool:
        return "admin" in self.roles or bool(self.roles.intersection(roles))

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def is_staff(self) -> bool:
        """A person with a role (not a machine): may see internal layers and camera streams."""
        return bool(self.roles - {DEVICE_ROLE})


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


def set_password(session: Session, user: User, password: str, *, keep_session: str | None = None) -> None:
    """Change the password and end the user's other sessions (a stolen cookie dies with the old password)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = generate_password_hash(password)
    end_sessions(session, user, keep=keep_session)


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for unknown user and bad password)."""
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        # Hash anyway so that response time does not reveal which usernames exist.
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.password_hash.startswith(PASSWORD_METHOD + ":"):
        user.password_hash = generate_password_hash(password)  # rehash with the current algorithm
    return user


@cache
def _dummy_hash() -> str:
    # Made on first use: hashing is deliberately slow, and most processes (CLI, workers) never need it.
    return generate_password_hash("not-a-real-password")


def grant(session: Session, user: User, *, area_id: int | None = None, unit_id: int | None = None) -> None:
    if (area_id is None) == (unit_id is None):
        raise Invalid("grant exactly one of an area or a unit")
    session.add(UserGrant(user_id=user.id, area_id=area_id, unit_id=unit_id))
    session.flush()


def _hash_token(token: str) -> str:
    # Secrets are 256 random bits, so a fast hash is enough: there is nothing to guess from the digest.
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session,
    name: str,
    *,
    user: User | None = None,
    scopes=(),
    expires_in: timedelta | str | None = None,
    now: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is shown once and never stored.

    Without *expires_in* the token gets the lifetime of its kind; `expires_in=NEVER` makes one without an end."""
    if user is None and not scopes:
        raise Invalid("a device token needs at least one scope")
    if expires_in is None:
        expires_in = USER_TOKEN_LIFETIME if user is not None else DEVICE_TOKEN_LIFETIME
    if expires_in != NEVER and (not isinstance(expires_in, timedelta) or expires_in <= timedelta(0)):
        raise Invalid("a token's lifetime must be positive", {"field": "expires_in"})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now or datetime.now(UTC)
    token = ApiToken(
        name=name,
        token_hash=_hash_token(secret),
        user_id=user.id if user else None,
        scopes=sorted(set(scopes)),
        expires_at=None if expires_in == NEVER else now + expires_in,
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
        user_id=user.id,
    )


def principal_for_token(session: Session, secret: str, now: datetime | None = None) -> Principal | None:
    """The principal a bearer token stands for, or None when unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    now = now or datetime.now(UTC)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash_token(secret)))
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        # A Core UPDATE: bookkeeping, not a change anybody made, so it stays out of the audit log.
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
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
        user_id=user.id,
    )


def start_session(
    session: Session, user: User, *, remote_addr: str | None = None, lifetime: timedelta = SESSION_LIFETIME,
    now: datetime | None = None,
) -> str:
    """Open a session for *user*; returns the secret for the cookie (only its hash is stored)."""
    secret = secrets.token_urlsafe(32)
    now = now or datetime.now(UTC)
    session.execute(delete(UserSession).where(UserSession.expires_at < now - SESSION_KEPT))
    session.add(UserSession(user_id=user.id, secret_hash=_hash_token(secret), remote_addr=remote_addr,
                            expires_at=now + lifetime))
    session.flush()
    return secret


def user_for_session(session: Session, secret: str, now: datetime | None = None) -> User | None:
    """The active user of a live session, or None when it is unknown, ended or expired."""
    now = now or datetime.now(UTC)
    user = session.scalar(
        select(User).join(UserSession, UserSession.user_id == User.id).where(
            UserSession.secret_hash == _hash_token(secret), UserSession.ended_at.is_(None),
            UserSession.expires_at > now, User.active.is_(True))
    )
    return user


def end_session(session: Session, secret: str) -> None:
    """Sign one browser out for good."""
    for row in session.scalars(select(UserSession).where(UserSession.secret_hash == _hash_token(secret),
                                                         UserSession.ended_at.is_(None))):
        row.ended_at = datetime.now(UTC)
    session.flush()


def end_sessions(session: Session, user: User, *, keep: str | None = None) -> int:
    """End every session of *user* but *keep*'s: after a password change other browsers must sign in again."""
    query = select(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep:
        query = query.where(UserSession.secret_hash != _hash_token(keep))
    rows = list(session.scalars(query))
    for row in rows:
        row.ended_at = datetime.now(UTC)
    session.flush()
    return len(rows)
