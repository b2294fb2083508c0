"""Settings from the environment (prefix ITSM_) with defaults that run the demo locally."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ITSM_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'itsm.db'}",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://… in production",
    )
    config_dir: Path = Field(
        default=PROJECT_ROOT / "config", description="Folder with SLA, package and demo config"
    )
    bpmn_dir: Path = Field(
        default=PROJECT_ROOT / "bpmn", description="Folder with the bundled process models"
    )
    ticket_prefix: str = Field(default="HD", description="Prefix of ticket numbers")
    auto_close_after: str = Field(
        default="P5D", description="ISO 8601 duration a resolved ticket waits for confirmation"
    )
    follow_up_after: str = Field(
        default="P7D", description="ISO 8601 duration from closing to the follow-up check"
    )
    attachments_dir: Path = Field(
        default=PROJECT_ROOT / "var" / "attachments",
        description="Where attachment bytes are kept, by content hash",
    )
    max_attachment_bytes: int = Field(
        default=10_000_000, gt=0, description="Largest attachment accepted, in bytes"
    )
    secret_key_file: Path = Field(
        default=PROJECT_ROOT / "var" / "secret_key",
        description="File holding the key that signs session cookies (created if missing)",
    )
    secret_key: str | None = Field(
        default=None, description="Cookie-signing key; overrides secret_key_file when set"
    )
    secure_cookies: bool = Field(
        default=False, description="Mark session cookies Secure (set behind HTTPS)"
    )
