"""The sign-in throttle: failed passwords and codes slow further tries down, without locking anyone out.

Failures are counted under three keys, each with its own free allowance, after which every further try must wait
twice as long as the one before (1 s, 2 s, 4 s, ... up to a cap) after the key's last failure:

- an account from one address and browser: someone guessing one password;
- an address, over all accounts: someone trying one password on many accounts;
- an account from at least a few addresses: guessing spread over many machines.

A browser the account has signed in from before (it carries a signed "known device" cookie naming the account) is
counted apart from everyone else at its address and skips the address and account keys. So one person behind a
ward office's shared address can slow only themselves and cookie-less browsers there, never a colleague whose
browser knows their account, and the right password from another address is never refused for someone else's
failures. The owner is told (an account notice, and the `account_notice` hook for other channels) once the
account has collected a few failures, and every failure is in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from gisserver.accounts.models import AccountNotice, SignInFailure, User
from gisserver.core import audit
from gisserver.core.features import hooks

WINDOW = timedelta(hours=24)
FAILED_SIGN_INS = "failed_sign_ins"


@dataclass(frozen=True)
class Policy:
    """Free failures per key before the delays start, the longest delay, and when the owner is told."""

    per_account_address: int = 3
    per_address: int = 20
    per_account: int = 10
    account_addresses: int = 3  # the account key counts only once failures come from this many addresses
    max_delay_seconds: int = 900
    notice_after: int = 5


@dataclass(frozen=True)
class Attempt:
    username: str
    remote_addr: str
    device: str | None = None  # the known-device id, when this browser has signed in to this account before


@dataclass(frozen=True)
class Verdict:
    wait_seconds: int = 0
    key: str | None = None  # which count is holding the attempt back

    @property
    def allowed(self) -> bool:
        return self.wait_seconds == 0


_COUNTS = text("""
SELECT count(*) FILTER (WHERE username = :username AND remote_addr = :addr AND device IS NOT DISTINCT FROM :device)
           AS pair_n,
       max(at) FILTER (WHERE username = :username AND remote_addr = :addr AND device IS NOT DISTINCT FROM :device)
           AS pair_last,
       count(*) FILTER (WHERE remote_addr = :addr) AS address_n,
       max(at) FILTER (WHERE remote_addr = :addr) AS address_last,
       count(*) FILTER (WHERE username = :username) AS account_n,
       max(at) FILTER (WHERE username = :username) AS account_last,
       count(DISTINCT remote_addr) FILTER (WHERE username = :username) AS account_addresses,
       now() AS now
FROM sign_in_failures
WHERE at > now() - make_interval(secs => :window) AND (username = :username OR remote_addr = :addr)
""")


def delay_after(failures: int, free: int, cap: int) -> int:
    """Seconds a key must rest after its last failure: none within the free allowance, then doubling."""
    if failures < free:
        return 0
    return min(cap, 2 ** min(failures - free, 30))


def check(session: Session, attempt: Attempt, policy: Policy) -> Verdict:
    """May this attempt be tried now? (It is not counted: only failures are.)"""
    row = session.execute(_COUNTS, {"username": attempt.username, "addr": attempt.remote_addr,
                                    "device": attempt.device, "window": WINDOW.total_seconds()}).one()
    keys = [("account_address", row.pair_n, row.pair_last, policy.per_account_address)]
    if attempt.device is None:
        keys.append(("address", row.address_n, row.address_last, policy.per_address))
        if row.account_addresses >= policy.account_addresses:
            keys.append(("account", row.account_n, row.account_last, policy.per_account))
    worst = Verdict()
    for key, count, last, free in keys:
        delay = delay_after(count, free, policy.max_delay_seconds)
        if delay and last is not None:
            wait = int((last + timedelta(seconds=delay) - row.now).total_seconds() + 0.999)
            if wait > worst.wait_seconds:
                worst = Verdict(wait, key)
    return worst


def record_failure(session: Session, attempt: Attempt, step: str, policy: Policy) -> AccountNotice | None:
    """Count a wrong password or code, write it to the audit log, and tell the owner when failures pile up."""
    # Core inserts: the throttle's own bookkeeping; the audit entry below says what happened, once.
    session.execute(insert(SignInFailure).values(username=attempt.username, remote_addr=attempt.remote_addr,
                                                 device=attempt.device, step=step))
    user = session.scalar(select(User).where(User.username == attempt.username))
    audit.record(session, "sign_in_failed", "users", str(user.id) if user else None,
                 {"username": attempt.username, "step": step, "known_device": attempt.device is not None})
    return _notice_if_due(session, user, policy) if user is not None else None


def record_success(session: Session, attempt: Attempt) -> None:
    """The account signed in from here: its failures from this address and browser stop counting (a stranger's
    failures from another browser at the same address still count)."""
    session.execute(delete(SignInFailure).where(SignInFailure.username == attempt.username,
                                                SignInFailure.remote_addr == attempt.remote_addr,
                                                SignInFailure.device.is_not_distinct_from(attempt.device)))
    session.execute(delete(SignInFailure).where(SignInFailure.at < datetime.now(UTC) - WINDOW))


def _notice_if_due(session: Session, user: User, policy: Policy) -> AccountNotice | None:
    last_notice = session.scalar(select(AccountNotice.at).where(
        AccountNotice.user_id == user.id, AccountNotice.kind == FAILED_SIGN_INS).order_by(AccountNotice.at.desc())
        .limit(1))
    since = max(filter(None, (last_notice, datetime.now(UTC) - WINDOW)))
    rows = session.execute(select(SignInFailure.remote_addr, SignInFailure.at).where(
        SignInFailure.username == user.username, SignInFailure.at > since)).all()
    if len(rows) < policy.notice_after:
        return None
    notice = AccountNotice(user_id=user.id, kind=FAILED_SIGN_INS, details={
        "failures": len(rows), "addresses": sorted({r.remote_addr for r in rows})[:10],
        "first": min(r.at for r in rows).isoformat(), "last": max(r.at for r in rows).isoformat()})
    session.add(notice)
    session.flush()
    for deliver in hooks("account_notice"):  # other channels (mail, SMS) plug in here
        deliver(session, user, notice)
    return notice


def unread_notices(session: Session, user_id: int) -> list[AccountNotice]:
    return list(session.scalars(select(AccountNotice).where(AccountNotice.user_id == user_id,
                                                            AccountNotice.read_at.is_(None))
                                .order_by(AccountNotice.at.desc())))


def recent_notices(session: Session, user_id: int, limit: int = 10) -> list[AccountNotice]:
    return list(session.scalars(select(AccountNotice).where(AccountNotice.user_id == user_id)
                                .order_by(AccountNotice.at.desc()).limit(limit)))


def mark_read(session: Session, notices: list[AccountNotice]) -> None:
    now = datetime.now(UTC)
    for notice in notices:
        if notice.read_at is None:
            notice.read_at = now
