"""Every setting of the server, read from `UPMETR_*` environment variables."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("upmetr", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="UPMETR_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str | None = Field(
        None, description="SQLAlchemy async URL; defaults to SQLite in the data directory."
    )
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = Field(
        None, description="Base URL used in emailed links; defaults to http://host:port."
    )

    # Redis (redis://host:port/db) shared by every server process, on one machine or several:
    # rate limits count there (server/providers/redis.py). Without it each process counts
    # its own, which is right for one API process.
    redis_url: str | None = None
    rate_limit_user: str = "60/minute"
    rate_limit_anon: str = "20/minute"
    # Failed logins per account, on top of the rate limit (OWASP authentication cheat sheet).
    login_failure_limit: str = "5/15minutes"
    login_failure_limit_ip: str = "50/15minutes"
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 2 * 1024 * 1024

    # The plan of every new organization. An install run by its owner is the whole product,
    # so the default is the Self-hosted plan (every module, no limits); a hosted service
    # that sells plans sets UPMETR_DEFAULT_PLAN=free.
    default_plan: Literal["self_hosted", "free", "pro", "enterprise"] = "self_hosted"
    access_token_minutes: int = 30
    refresh_token_days: int = 30
    magic_link_minutes: int = 15
    password_reset_minutes: int = 60
    email_change_minutes: int = 24 * 60
    invitation_days: int = 7
    # A comment on an idle live-event stream, so proxies do not time the connection out.
    sse_heartbeat_seconds: float = 15.0
    # How long one live-event stream lasts before the server ends it (0: as long as the
    # client stays). Clients reconnect with Last-Event-ID and miss nothing; a bound lets a
    # load balancer spread long-lived streams again, and lets tools that read a response
    # to its end (schemathesis) get one.
    sse_max_seconds: float = Field(0.0, ge=0)

    # The check engine. `engines=False` serves the API alone (no scheduled checks).
    engines: bool = True
    check_concurrency: int = Field(500, ge=1, description="checks running at once")
    check_batch_size: int = Field(1000, ge=1, description="results per database write")
    check_flush_seconds: float = Field(0.5, gt=0, description="longest a result waits")
    # "https://1.1.1.1" or "host:port". When a check fails and the canary fails too, the
    # server's own network is down: the check is recorded as unknown, not down.
    check_canary: str | None = None
    # A PEM file of CAs that HTTPS checks trust instead of the system's (a private CA).
    check_ca_bundle: str | None = None
    # Outbound-target policy (server/providers/outbound.py): checks never reach link-local or
    # cloud metadata addresses; loopback, private, CGNAT, multicast and reserved ones only
    # when allowed here, all of them, or only those in the listed networks ("10.0.0.0/8,
    # 192.168.1.0/24"). `upmetr up`, a local install for one person, allows them all.
    allow_private_targets: bool = False
    allowed_target_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="networks checks may reach although they are not public (CIDR, commas)",
    )
    # Reverse proxies in front of the API (CIDR, commas): a request from one of them is taken
    # to come from the address it names in X-Forwarded-For (server/http/middleware.py), for
    # the per-IP rate limits, the audit log and the access log. Empty: the peer's address.
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list,
        description="reverse proxies whose X-Forwarded-For names the client (CIDR, commas)",
    )
    # Retention: raw results per monitor; rollups per period (ARCHITECTURE.md, Data lifecycle).
    keep_check_results: int = Field(1000, ge=10)
    rollup_minute_days: float = 2
    rollup_hour_days: float = 90
    rollup_day_days: float = 400
    # The notification log (events, deliveries and their attempts) once settled, and inboxes.
    notification_keep_days: float = Field(30, gt=0)
    inbox_keep_days: float = Field(90, gt=0)
    # A bearer token required by GET /metrics (Prometheus); unset, /metrics is open.
    metrics_token: str | None = None

    # Cloud providers. The endpoint override points boto3 at one AWS-compatible endpoint
    # (moto's server in tests, LocalStack in a lab); unset, each service's real endpoint.
    aws_endpoint_url: str | None = None
    aws_max_attempts: int = Field(8, ge=1, description="boto3 adaptive retries per call")
    # Provider calls running at once per account (discovery, cost sync), and per region.
    provider_concurrency: int = Field(8, ge=1)
    provider_region_concurrency: int = Field(3, ge=1)

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_from: str = "Upmetr <noreply@upmetr.local>"
    smtp_timeout_seconds: float = 15.0

    # Notification channels (server/providers/channels/). Each vendor's API base URL is a
    # setting so a test (or a proxy, or a regional endpoint) can stand in for the vendor;
    # the timeout bounds one request to a vendor or one SMTP delivery.
    pagerduty_api_url: str = "https://events.pagerduty.com"
    telegram_api_url: str = "https://api.telegram.org"
    twilio_api_url: str = "https://api.twilio.com"
    clickup_api_url: str = "https://api.clickup.com"
    channel_timeout_seconds: float = Field(10.0, gt=0)

    # Billing with Stripe (server/providers/stripe/). Without a secret key billing is off:
    # plans, the subscription and usage still answer, checkout and the portal are a 409.
    # The API base is a setting so tests can stand a local Stripe-compatible server in.
    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str = "https://api.stripe.com"
    # The Stripe price of each plan and interval, keyed "<plan code>:<month|year>"
    # (JSON in the environment: UPMETR_STRIPE_PRICES='{"pro:month": "price_..."}').
    stripe_prices: dict[str, str] = Field(default_factory=dict)
    # Stripe refuses a signed event older than this (its libraries' default tolerance,
    # https://docs.stripe.com/webhooks#replay-attacks).
    stripe_webhook_tolerance_seconds: int = Field(300, ge=1)

    # The console over SSH (`upmetr ssh-serve`, server/ssh/). Its sessions reach the API at
    # ssh_api_url (default: http://host:port); a session without a keystroke for
    # ssh_idle_minutes is closed; its tokens live ssh_session_hours at most.
    ssh_host: str = "0.0.0.0"  # noqa: S104 - reaching it from any laptop is its purpose
    ssh_port: int = Field(2222, ge=1, le=65535)
    ssh_host_key: Path | None = None  # default: <data_dir>/ssh_host_ed25519_key
    ssh_api_url: str | None = None
    ssh_idle_minutes: float = Field(30.0, gt=0)
    ssh_session_hours: float = Field(12.0, gt=0)
    ssh_max_sessions: int = Field(100, ge=1)
    ssh_max_sessions_per_user: int = Field(5, ge=1)

    # argon2 parameters; the defaults are argon2-cffi's (RFC 9106 low-memory profile).
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4

    @field_validator("allowed_target_networks", "trusted_proxies", mode="before")
    @classmethod
    def _split_networks(cls, value: Any) -> Any:
        if isinstance(value, str):  # the environment's form: comma-separated CIDRs
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @classmethod
    def given(cls, **options: Any) -> Settings:
        """The environment's settings with the options a command was given; None stands
        for an option not given."""
        return cls(**{name: value for name, value in options.items() if value is not None})

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'upmetr.db'}"

    @property
    def billing_enabled(self) -> bool:
        return bool(self.stripe_secret_key)

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"
