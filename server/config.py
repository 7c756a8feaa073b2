"""Every setting of the server, read from `UPMETR_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import platformdirs
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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

    rate_limit_user: str = "60/minute"
    rate_limit_anon: str = "20/minute"
    # Failed logins per account, on top of the rate limit (OWASP authentication cheat sheet).
    login_failure_limit: str = "5/15minutes"
    login_failure_limit_ip: str = "50/15minutes"
    max_body_bytes: int = 1024 * 1024
    max_upload_bytes: int = 2 * 1024 * 1024

    default_plan: Literal["free", "pro", "enterprise"] = "free"
    access_token_minutes: int = 30
    refresh_token_days: int = 30
    magic_link_minutes: int = 15
    password_reset_minutes: int = 60
    invitation_days: int = 7
    # A comment on an idle live-event stream, so proxies do not time the connection out.
    sse_heartbeat_seconds: float = 15.0

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_from: str = "Upmetr <noreply@upmetr.local>"
    smtp_timeout_seconds: float = 15.0

    # argon2 parameters; the defaults are argon2-cffi's (RFC 9106 low-memory profile).
    argon2_time_cost: int = 3
    argon2_memory_cost: int = 65536
    argon2_parallelism: int = 4

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'upmetr.db'}"

    @property
    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"
