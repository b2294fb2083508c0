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
    provider_name: str = Field(
        default="NordServ IT", description="The service provider's name on client reports"
    )
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
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for notifications")
    smtp_port: int = Field(default=1025, description="SMTP port")
    smtp_from: str = Field(
        default="NordServ IT service desk <service-desk@nordserv.example>",
        description="From address of notifications",
    )
    smtp_starttls: bool = Field(default=False, description="Use STARTTLS with the SMTP server")
    smtp_username: str | None = Field(default=None, description="SMTP login, if required")
    smtp_password: str | None = Field(default=None, description="SMTP password, if required")
    sms_gateway_url: str | None = Field(
        default=None, description="HTTP endpoint accepting {to, text, id} JSON; no SMS if unset"
    )
    sms_gateway_token: str | None = Field(default=None, description="Bearer token for it")
    login_max_failures: int = Field(
        default=5,
        ge=1,
        description="Wrong passwords per username within login_failure_window_minutes "
        "before that username's logins are refused until the oldest one ages out",
    )
    login_failure_window_minutes: int = Field(default=15, ge=1)
    service_task_retries: int = Field(
        default=3,
        ge=0,
        le=20,
        description="Automatic retries of a failed service task (backing off exponentially) "
        "before the instance becomes an incident for an admin or the lead; 0: at once",
    )
    service_task_backoff_seconds: float = Field(
        default=30,
        gt=0,
        description="Wait before the first retry of a failed service task; each further "
        "retry waits twice as long (retries run with the engine_timers flow, every minute)",
    )
    outbox_max_attempts: int = Field(
        default=8, gt=0, description="Delivery attempts before a notification is marked failed"
    )
    outbox_lease_seconds: int = Field(
        default=120, gt=0, description="How long a worker holds a batch before others retry it"
    )
    max_email_bytes: int = Field(
        default=30_000_000, gt=0, description="Largest inbound e-mail accepted, in bytes"
    )
    max_api_body_bytes: int = Field(
        default=1_000_000,
        gt=0,
        description="Largest HTTP API request body (tickets, comments, webhooks), in bytes; "
        "larger ones are refused with 413 before they are read in full",
    )
    email_tickets_per_sender_per_hour: int = Field(
        default=20, gt=0, description="New tickets one sender may open by e-mail per hour"
    )
    alert_webhook_token: str | None = Field(
        default=None,
        description="Bearer token Alertmanager/Grafana must send; the webhook is off if unset",
    )
    close_incident_when_alerts_resolve: bool = Field(
        default=True,
        description="Tell an incident's process when all its alerts resolved; the bundled "
        "model then closes it if it still waits at the 1st line",
    )
    sms_webhook_token: str | None = Field(
        default=None, description="Bearer token the SMS gateway must send; off if unset"
    )
    imap_host: str | None = Field(
        default=None, description="IMAP server to fetch e-mail from; no fetching if unset"
    )
    imap_port: int = Field(default=993, description="IMAP port")
    imap_ssl: bool = Field(default=True, description="Connect to the IMAP server over TLS")
    imap_starttls: bool = Field(
        default=False,
        description="Connect in plain text and upgrade with STARTTLS (port 143); "
        "takes precedence over imap_ssl",
    )
    imap_ca_file: Path | None = Field(
        default=None,
        description="CA certificate(s) to trust for the IMAP server, for a private CA; "
        "system CAs otherwise",
    )
    imap_user: str = Field(default="", description="IMAP login")
    imap_password: str = Field(default="", description="IMAP password")
    imap_folder: str = Field(default="INBOX", description="Folder fetched by itsm mail fetch")
    prefect_home: Path = Field(
        default=PROJECT_ROOT / "var" / "prefect",
        description="Where `itsm serve` keeps the local Prefect server's SQLite database",
    )
    secure_cookies: bool = Field(
        default=False, description="Mark session cookies Secure (set behind HTTPS)"
    )
