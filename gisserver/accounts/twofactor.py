"""Two-factor sign-in for staff: TOTP codes (RFC 6238, through pyotp) and single-use recovery codes.

Which roles must use it is a policy kept in the database (`gisserver users require-2fa ROLE`); admins and
planners by default. Anyone else may turn it on from their account page. It guards the sign-in pages only: API
tokens are issued to people and machines on purpose and carry on as they are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gisserver.accounts.models import RecoveryCode, User
from gisserver.accounts.users import ROLES
from gisserver.core.exceptions import Conflict, Invalid
from gisserver.core.meta import get_meta, set_meta

ISSUER = "gisserver"
POLICY_KEY = "two_factor_roles"
DEFAULT_REQUIRED = ("admin", "planner")
RECOVERY_CODES = 10
STEP_SECONDS = 30
# A code is accepted one step either side of now: phones' clocks drift, and typing takes time.
VALID_WINDOW = 1


def required_roles(session: Session) -> set[str]:
    stored = get_meta(session, POLICY_KEY)
    return set(stored["roles"]) if stored is not None else set(DEFAULT_REQUIRED)


def set_required(session: Session, role: str, required: bool) -> set[str]:
    """Require two-factor sign-in of a role (or stop requiring it); returns the roles that now must."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role}; known: {', '.join(ROLES)}")
    roles = required_roles(session)
    roles = roles | {role} if required else roles - {role}
    set_meta(session, POLICY_KEY, {"roles": sorted(roles)})
    return roles


def is_enrolled(user: User) -> bool:
    return user.totp_enabled_at is not None


def is_required(session: Session, user: User) -> bool:
    return bool(set(user.roles) & required_roles(session))


def needs_second_factor(session: Session, user: User) -> bool:
    """Whether signing in with the password must be followed by a code (or by enrolment, when required)."""
    return is_enrolled(user) or is_required(session, user)


def start_enrolment(session: Session, user: User) -> str:
    """A new secret for the user's authenticator, waiting for its first code (an earlier unconfirmed one is
    replaced)."""
    if is_enrolled(user):
        raise Conflict("two-factor sign-in is already on; turn it off first to set up another device")
    user.totp_secret = pyotp.random_base32()
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The otpauth:// address as a QR code, a data: URI for an <img> (allowed by the pages' policy)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _normalise(code: str) -> str:
    return "".join(ch for ch in (code or "") if ch.isalnum()).upper()


def _matching_step(user: User, code: str, now: datetime) -> int | None:
    """The time step *code* belongs to, when it is a current code of the user's secret not taken before."""
    if not (code.isdigit() and len(code) == 6) or not user.totp_secret:
        return None
    totp = pyotp.TOTP(user.totp_secret)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            # RFC 6238 5.2: a code is accepted once; any code of an earlier or the same step is refused after it.
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return None
            return step
    return None


def _hash(code: str) -> str:
    # 80 random bits per code: a fast hash leaves nothing to guess from the digest.
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace the user's recovery codes; returns them to show once (only their hashes are stored)."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = base64.b32encode(secrets.token_bytes(10)).decode().lower()
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash(code)) for code in codes)
    session.flush()
    return codes


def confirm_enrolment(session: Session, user: User, code: str, now: datetime | None = None) -> list[str] | None:
    """Turn two-factor sign-in on once the authenticator shows a right code; returns the recovery codes, or None
    when the code is wrong."""
    if is_enrolled(user) or not user.totp_secret:
        raise Conflict("there is no set-up waiting for a code; start again")
    now = now or datetime.now(UTC)
    step = _matching_step(user, _normalise(code), now)
    if step is None:
        return None
    user.totp_last_step = step
    user.totp_enabled_at = now
    return new_recovery_codes(session, user)


def verify(session: Session, user: User, code: str, now: datetime | None = None) -> str | None:
    """Check a sign-in code: "totp" or "recovery" when it is right (and now used up), None otherwise."""
    if not is_enrolled(user):
        return None
    now = now or datetime.now(UTC)
    code = _normalise(code)
    step = _matching_step(user, code, now)
    if step is not None:
        user.totp_last_step = step
        return "totp"
    if len(code) != 16:
        return None
    # Locked, so that two requests racing with the same code cannot both use it.
    row = session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
                                                    RecoveryCode.code_hash == _hash(code)).with_for_update())
    if row is None:
        return None
    row.used_at = now
    return "recovery"


def recovery_codes_left(session: Session, user: User) -> int:
    return len(session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                             RecoveryCode.used_at.is_(None))).all())


def turn_off(session: Session, user: User, *, by_admin: bool = False) -> None:
    """Forget the user's authenticator and recovery codes. The user may not while their role requires it; an
    admin may (`gisserver users reset-2fa`: a lost phone), and the next sign-in then sets up a new one."""
    if not by_admin and is_required(session, user):
        raise Conflict("your role requires two-factor sign-in; it cannot be turned off")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
