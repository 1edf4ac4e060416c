"""Configuration read from GISSERVER_* environment variables, with documented defaults."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields
from pathlib import Path

ENV_PREFIX = "GISSERVER_"


def _default_data_dir() -> Path:
    return Path(os.environ.get("GISSERVER_DATA_DIR", "var")).resolve()


@dataclass(frozen=True)
class Settings:
    """Every setting the service reads; each field maps to GISSERVER_<FIELD> in the environment."""

    # "production" makes the app refuse to start with a weak or demo secret key or the demo users still active.
    env: str = "development"
    # Where the private cluster, uploads and generated secrets live.
    data_dir: Path = field(default_factory=_default_data_dir)
    # Any PostGIS 3 database; empty means "use the private cluster under data_dir".
    database_url: str = ""
    # Streaming replicas of that database (URLs separated by spaces or commas): the views declared `on_replica`
    # read from them (gisserver/core/replicas.py).
    database_replica_urls: str = ""
    # A replica that has not replayed the primary's last commits for this long is skipped until it catches up.
    replica_max_lag_ms: int = 5000
    # After a caller's write, its reads wait at most this long for a replica to replay it, then use the primary.
    replica_wait_ms: int = 250
    # database_url goes through a transaction-mode pooler (PgBouncer): no startup options, no prepared
    # statements, no session state on it; the statement timeout is then set on the role.
    database_pooled: bool = False
    # A direct connection to the primary, for what needs a session of its own (migrations hold an advisory lock,
    # backups export a snapshot to pg_dump); empty means database_url.
    database_direct_url: str = ""
    # Private cluster settings (only used when database_url is empty).
    pg_dir: Path | None = None
    pg_port: int = 5439
    pg_bindir: str = ""
    pg_database: str = "gisserver"
    # The private cluster's (and its replicas') shared_buffers; the tests ask for less, running several at once.
    pg_shared_buffers: str = "512MB"
    # Load pg_stat_statements (statements counted per engine: bench/topology.py reads them); a restart applies it.
    pg_stat_statements: bool = True
    # Flask session signing key; generated once into data_dir when not given.
    secret_key: str = ""
    # Request body cap in megabytes (uploads included).
    max_upload_mb: int = 64
    # Base map tile URL template ({z}/{x}/{y}); empty means no base map.
    basemap_url: str = ""
    basemap_attribution: str = ""
    log_level: str = "INFO"
    # Intake limits ("10 per minute;60 per day", as the `limits` library reads them): anonymous per client address
    # and per area; people per person; machine tokens with the scope reports:file per token; Open311 applications
    # per api_key.
    intake_rate_limit: str = "10 per minute;60 per day"
    intake_area_rate_limit: str = "300 per hour"
    intake_user_rate_limit: str = "60 per minute;1000 per day"
    intake_token_rate_limit: str = "120 per minute;5000 per day"  # noqa: S105 - a rate, not a secret
    open311_key_rate_limit: str = "120 per minute;5000 per day"
    # The sign-in throttle: free failures per account from one address and browser, per address (all accounts),
    # per account (from several addresses); then each try waits twice as long, up to the cap; the owner is told
    # after this many failures.
    login_failures_account_address: int = 3
    login_failures_address: int = 20
    login_failures_account: int = 10
    login_max_delay_seconds: int = 900
    login_notice_after: int = 5
    # Zip archives (Shapefiles, KMZ) are refused above this many files or this unpacked size.
    archive_max_files: int = 200
    archive_max_mb: int = 2048
    # Photos attached to a citizen report: how many, and the size cap of each in megabytes.
    photo_max_count: int = 5
    photo_max_mb: int = 8
    # Planning projects' documents (PDFs): the size cap of each in megabytes, and how many a project may hold.
    document_max_mb: int = 32
    document_max_count: int = 50
    # A new report of the same category this close (metres) and this recent (hours) to an open one is a
    # possible duplicate.
    duplicate_metres: int = 100
    duplicate_hours: int = 48
    # A camera silent for longer than this many minutes is shown offline.
    camera_offline_minutes: int = 10
    # AI events of one camera and type this many minutes apart fold into one alert.
    alert_dedup_minutes: int = 10
    # The public address residents reach the app at, printed into QR codes and keychains; keychain sheets are
    # refused while it is unset or a loopback address.
    public_url: str = ""
    # What users read as the service's name and see as its logo (an SVG or PNG file), per city.
    product_name: str = ""
    product_logo: str = ""
    # Number of trusted reverse proxies in front of the app (for client addresses).
    proxy_hops: int = 0
    # Send the session cookie only over HTTPS (turn on behind a TLS proxy).
    secure_cookies: bool = False
    # Seconds a shared cache (the nginx tile cache, a CDN) may serve its copy of a public layer's tile before asking
    # the app again (s-maxage): an edit reaches the cache's readers after at most this long. 0: always ask.
    tile_cache_seconds: int = 1
    # Seconds a database connection attempt may take before /health reports 503.
    db_connect_timeout: int = 3
    # Seconds a single SQL statement may run before it is cancelled.
    db_statement_timeout_ms: int = 30000
    # OGC API - Features: a filtered items page says numberMatched when at most this many features match (counted
    # in the page's statement); beyond, it leaves it out and gives the planner's estimate (layers/features.py).
    # 0 never counts; a large value always does.
    ogc_exact_count_limit: int = 10_000

    @property
    def photo_dir(self) -> Path:
        """Where report photos are stored (the database rows point at files here)."""
        return self.data_dir / "photos"

    @property
    def document_dir(self) -> Path:
        """Where planning projects' documents are stored (the database rows point at files here)."""
        return self.data_dir / "documents"

    @property
    def pg_data_dir(self) -> Path:
        return (self.pg_dir or self.data_dir / "pg").resolve()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None or raw == "":
                continue
            if f.name in ("data_dir", "pg_dir"):
                values[f.name] = Path(raw).resolve()
            elif f.type == "int":
                values[f.name] = int(raw)
            elif f.type == "bool":
                values[f.name] = raw.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = raw
        return cls(**values)


def load_or_create_secret(path: Path) -> str:
    """Return the secret stored at *path*, creating a random one (mode 0600) on first use.

    Several processes may start at once on a fresh data folder (the app servers and the worker of one layout): the
    secret is written whole under a private name and linked into place, so that exactly one of them creates it and
    the others read that one, never an empty or half-written file."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another process was first: its secret is the one
    finally:
        draft.unlink(missing_ok=True)
    return path.read_text().strip()


# Placeholders people copy from examples: never a secret key in production.
WELL_KNOWN_SECRETS = {"dev", "development", "secret", "secret-key", "secret_key", "changeme", "change-me",
                      "change_me", "demo", "test", "testing", "gisserver", "please-change-me", "default"}
MIN_SECRET_LENGTH = 32


def weak_secret(value: str) -> str | None:
    """Why *value* may not sign sessions in production, or None when it may."""
    if value.strip().lower() in WELL_KNOWN_SECRETS:
        return "it is a well-known placeholder"
    if len(value) < MIN_SECRET_LENGTH:
        return f"it is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < 8:
        return "it repeats a few characters"
    return None
