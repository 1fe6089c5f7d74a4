"""Runtime settings, read from ``RENEWMAP_*`` environment variables.

Nothing here connects to anything: the app factory and the CLI build engines from these values.
"""

from __future__ import annotations

import ipaddress
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret"
MIN_SECRET_BYTES = 32
DEFAULT_DB_PATH = Path("var") / "renewmap.sqlite"
DEFAULT_TIME_ZONE = "Asia/Shanghai"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> list[Network]:
    """``"127.0.0.1, 10.0.0.0/8, ::1"`` → networks; a bad entry raises ValueError naming it."""
    out: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"'{item}' is not an IP address or network") from None
    return out


def parse_hosts(text: str) -> list[str]:
    """``"renewmap.example.org, *.intranet"`` → lower-case host patterns."""
    return [h.strip().lower() for h in text.split(",") if h.strip()]


class Settings(BaseSettings):
    """Application settings; see README for the variables."""

    model_config = SettingsConfigDict(env_prefix="RENEWMAP_", env_file=None, extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        description="sqlite:///path (SpatiaLite, default) or postgresql+psycopg://… (PostGIS)",
    )
    secret_key: str = DEV_SECRET
    snap_distance_m: float = Field(default=50.0, ge=0, le=5000)
    spatialite_library: str = "mod_spatialite"
    max_json_bytes: int = Field(
        default=1024 * 1024, gt=0, description="request bodies of JSON and form endpoints"
    )
    max_drawing_bytes: int = Field(
        default=8 * 1024 * 1024, gt=0, description="a drawn design or grid set (GeoJSON)"
    )
    max_photo_post_bytes: int = Field(
        default=26 * 1024 * 1024, gt=0, description="a post with photos (up to 3 of 8 MB)"
    )
    max_upload_bytes: int = Field(
        default=21 * 1024 * 1024, gt=0, description="a file import or attachment (≤ 20 MB)"
    )
    image_decodes: int = Field(
        default=2, ge=1, le=32, description="photos decoded at once per process (≈ 80 MB each)"
    )
    sql_echo: bool = False
    workers: int = Field(
        default=1, ge=1, le=64, description="worker processes of `renewmap serve` (--workers)"
    )
    log_format: Literal["auto", "text", "json"] = Field(
        default="auto",
        description="application logs: one JSON object per line (json), or text; auto: text "
        "in dev, JSON otherwise",
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    metrics_allow: str = Field(
        default="127.0.0.1, ::1",
        description="addresses or networks (comma-separated) that may read GET /metrics "
        "(your Prometheus); others get a 404",
    )
    rate_posts: int = Field(default=10, ge=1, description="suggestions per IP per window")
    rate_interactions: int = Field(default=60, ge=1, description="supports+comments per IP")
    rate_window_s: float = Field(default=600.0, gt=0)
    rate_open311: int = Field(
        default=120, ge=1, description="Open311 service requests per API key per window"
    )
    secure_cookies: bool = Field(
        default=False, description="set when served over HTTPS (always on with env=prod)"
    )
    time_zone: str = Field(
        default=DEFAULT_TIME_ZONE,
        description="the communities' time zone (IANA name): times on pages and reports",
    )
    db_pool_pre_ping: bool = Field(
        default=False,
        description="ping each pooled connection on checkout (one extra round trip per request)",
    )
    database_read_url: str | None = Field(
        default=None,
        description="a read replica (postgresql+psycopg://…) for reads that need not see the "
        "reader's own writes: public maps, lists, OGC, tiles; none: every read on the primary",
    )
    db_prepared_statements: bool = Field(
        default=True,
        description="let the PostgreSQL driver prepare statements it runs often; false behind "
        "PgBouncer in transaction mode before 1.21 (a prepared statement lives on one server "
        "connection, the next transaction may get another)",
    )
    db_pool_size: int = Field(
        default=5, ge=1, le=200, description="connections kept open per pool and process"
    )
    db_max_overflow: int = Field(
        default=10, ge=0, le=500, description="extra connections a pool may open under load"
    )
    db_pool_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="how long a request waits for a free connection before a 503 (Retry-After)",
    )
    sqlite_busy_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="how long a SpatiaLite writer waits for the write lock (kept after the "
        "extension is loaded)",
    )
    public_read_timeout_ms: int = Field(
        default=5000,
        ge=100,
        le=600_000,
        description="statement timeout of public reads (maps, lists, OGC items and tiles) on "
        "PostGIS: a query that takes longer is cancelled and answered 503",
    )
    rate_limit_backend: str = Field(
        default="database",
        description="where rate-limit counters live: 'database' (shared by every worker and "
        "machine), 'memory' (this process only) or 'module:factory' (your own)",
    )

    # --- blob storage (branch photos): photos and attachments live outside the database
    blob_dir: Path | None = Field(
        default=None,
        description="directory of photos and attached files (default: beside the SpatiaLite "
        "file, <name>-blobs; var/blobs for PostGIS); back it up with the database",
    )
    blob_s3_endpoint: str | None = Field(
        default=None,
        description="S3-compatible object storage instead of a directory, e.g. "
        "http://127.0.0.1:9000 (MinIO) or https://s3.example.org",
    )
    blob_s3_bucket: str = Field(default="renewmap", description="the bucket (must exist)")
    blob_s3_access_key: str | None = None
    blob_s3_secret_key: str | None = None
    blob_s3_region: str = "us-east-1"
    blob_s3_prefix: str = Field(default="", description="object names start with this")

    overdue_days: int = Field(
        default=3, ge=1, le=60, description="a request not accepted in this many days is overdue"
    )
    staff_poll_s: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="how often the staff workspace asks whether new requests arrived (seconds)",
    )
    rate_logins: int = Field(default=10, ge=1, description="sign-in attempts per IP per window")
    rate_codes: int = Field(
        default=10, ge=1, description="wrong household codes per IP per window (then 429)"
    )
    public_base_url: str | None = Field(
        default=None,
        description="how people reach the app, e.g. https://renewmap.example.org: every link "
        "handed out (notifications, QR codes, OGC and Open311) starts with it; required in prod",
    )
    trusted_proxies: str = Field(
        default="",
        description="addresses or networks (comma-separated) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed; none by default",
    )
    allowed_hosts: str = Field(
        default="",
        description="Host names served (comma-separated, *.example.org for subdomains); "
        "any when empty; required in prod",
    )
    notify_smtp_host: str | None = Field(default=None, description="SMTP server for e-mail")
    notify_smtp_port: int = Field(default=25, ge=1, le=65535)
    notify_smtp_from: str = "renewmap@localhost"
    notify_smtp_starttls: bool = False
    notify_smtp_user: str | None = None
    notify_smtp_password: str | None = None
    notify_sms_url: str | None = Field(
        default=None,
        description="SMS gateway for residents' progress messages: an http(s) URL (template: "
        "{phone} and {text} are filled in) that is POSTed phone, text, timestamp, nonce, sign",
    )
    notify_sms_secret: str | None = Field(
        default=None, description="the gateway's key: sign = HMAC-SHA256 of the sorted params"
    )
    notify_sms_format: Literal["json", "form"] = "json"
    notify_sms_signature: str = Field(
        default="", description="put before every SMS text, e.g. 【巴林居委会】 (the SMS sign)"
    )
    notify_poll_s: float = Field(default=2.0, gt=0, le=300, description="dispatcher interval")
    notify_dispatcher: bool = Field(
        default=True,
        description="run the sender in this process (several may run: each message is "
        "claimed by one)",
    )
    notify_send_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="network timeout of one SMTP or HTTP step"
    )
    notify_lease_s: float = Field(
        default=300.0,
        ge=1,
        le=86_400,
        description="how long a claimed message is reserved for its sender; a sender that dies "
        "leaves it to be sent again (same idempotency key) after this",
    )
    notify_workers: int = Field(
        default=4, ge=1, le=64, description="messages sent at once per channel and process"
    )
    notify_shutdown_s: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="how long a stopping process waits for messages being sent",
    )
    tiles_url: str | None = Field(
        default=None,
        description="optional online basemap, a Leaflet URL template with {z}, {x}, {y} "
        "(and {s} for subdomains); none by default: the app runs on intranets",
    )
    tiles_attribution: str = Field(default="", description="required with tiles_url")
    tiles_crs: Literal["wgs84", "gcj02"] = Field(
        default="wgs84", description="gcj02 for Chinese web basemaps (AutoNavi, Tencent, …)"
    )
    tiles_max_zoom: int = Field(default=18, ge=1, le=22, description="the server's deepest zoom")
    tiles_subdomains: str = "abc"

    def body_limits(self) -> dict[str, int]:
        """Bytes per request body class (see ``renewmap.api.limits``)."""
        return {
            "json": self.max_json_bytes,
            "drawing": self.max_drawing_bytes,
            "photos": self.max_photo_post_bytes,
            "files": self.max_upload_bytes,
        }

    @property
    def tz(self) -> ZoneInfo:
        """The communities' time zone (exports show times in it)."""
        return ZoneInfo(self.time_zone)

    @model_validator(mode="after")
    def _check_sms(self) -> Settings:
        if self.notify_sms_url is None:
            return self
        if not self.notify_sms_url.startswith(("http://", "https://")):
            raise ValueError("RENEWMAP_NOTIFY_SMS_URL must be an http(s) URL")
        if not self.notify_sms_secret:
            raise ValueError("RENEWMAP_NOTIFY_SMS_SECRET is required with RENEWMAP_NOTIFY_SMS_URL")
        return self

    @model_validator(mode="after")
    def _check_tiles(self) -> Settings:
        if self.tiles_url is None:
            return self
        missing = [k for k in ("{z}", "{x}", "{y}") if k not in self.tiles_url]
        if missing or not self.tiles_url.startswith(("http://", "https://", "/")):
            raise ValueError(
                "RENEWMAP_TILES_URL must be an http(s) URL template with {z}, {x} and {y}"
                + (f" (missing {', '.join(missing)})" if missing else "")
            )
        if not self.tiles_attribution.strip():
            raise ValueError("RENEWMAP_TILES_ATTRIBUTION is required with RENEWMAP_TILES_URL")
        return self

    def today(self) -> date:
        """Today in the communities' time zone (a patrol's day, this month's report)."""
        return datetime.now(ZoneInfo(self.time_zone)).date()

    @property
    def cookies_secure(self) -> bool:
        """Cookies carry ``Secure``: in production always (it is served over HTTPS there)."""
        return self.secure_cookies or self.env == "prod"

    @model_validator(mode="after")
    def _check_time_zone(self) -> Settings:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"RENEWMAP_TIME_ZONE must be an IANA time zone such as Asia/Shanghai, "
                f"got {self.time_zone!r}"
            ) from None
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env != "dev" and self.secret_key == DEV_SECRET:
            raise ValueError(
                f"RENEWMAP_SECRET_KEY must be set to a private value when "
                f"RENEWMAP_ENV={self.env} (the default secret is for dev only)"
            )
        return self

    @model_validator(mode="after")
    def _check_trust(self) -> Settings:
        try:
            self.trusted_networks()
        except ValueError as exc:
            raise ValueError(f"RENEWMAP_TRUSTED_PROXIES: {exc}") from None
        try:
            parse_networks(self.metrics_allow)
        except ValueError as exc:
            raise ValueError(f"RENEWMAP_METRICS_ALLOW: {exc}") from None
        if self.database_read_url is not None and not (
            self.database_read_url.startswith("postgresql")
            and self.database_url.startswith("postgresql")
        ):
            raise ValueError(
                "RENEWMAP_DATABASE_READ_URL is a PostgreSQL replica of a PostgreSQL "
                "RENEWMAP_DATABASE_URL (postgresql+psycopg://…)"
            )
        if self.public_base_url is not None:
            url = urlsplit(self.public_base_url)
            if url.scheme not in ("http", "https") or not url.hostname or url.query:
                raise ValueError(
                    "RENEWMAP_PUBLIC_BASE_URL must be an http(s) URL such as "
                    "https://renewmap.example.org (a path is allowed, no query)"
                )
        if self.env != "prod":
            return self
        if len(self.secret_key.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"RENEWMAP_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes in prod (got "
                f"{len(self.secret_key.encode())}); e.g. python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'"
            )
        if not self.allowed_host_names():
            raise ValueError(
                "RENEWMAP_ALLOWED_HOSTS is required in prod: the host names people use, "
                "e.g. renewmap.example.org"
            )
        if not self.public_base_url:
            raise ValueError(
                "RENEWMAP_PUBLIC_BASE_URL is required in prod: the address people use, "
                "e.g. https://renewmap.example.org (links are never built from the Host header)"
            )
        return self

    def trusted_networks(self) -> list[Network]:
        """``RENEWMAP_TRUSTED_PROXIES`` as networks (empty: trust no proxy)."""
        return parse_networks(self.trusted_proxies)

    def allowed_host_names(self) -> list[str]:
        return parse_hosts(self.allowed_hosts)
