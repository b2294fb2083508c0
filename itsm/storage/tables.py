"""The relational schema (SQLAlchemy Core), portable across SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite keeps no offsets, PostgreSQL gets UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored: pass an aware UTC instant")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        instant: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return instant.replace(tzinfo=UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

clients = Table(
    "clients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("sla_tier", String(16), nullable=False),
    Column("default_service_type", String(32), nullable=False),
    Column("language", String(8), nullable=False),
    Column("calendar", Text, nullable=False),
    Column("coordinator_id", Integer, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
)

sites = Table(
    "sites",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("address", String(400), nullable=False),
)

people = Table(
    "people",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(120), nullable=False, unique=True),
    Column("full_name", String(200), nullable=False),
    Column("email", String(320)),
    Column("phone", String(40)),
    Column("role", String(32), nullable=False),
    Column("client_id", ForeignKey("clients.id"), nullable=True, index=True),
    Column("is_authorised", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("password_hash", String(255)),
)

ticket_counters = Table(
    "ticket_counters",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", Integer, nullable=False),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False),
    Column("site_id", ForeignKey("sites.id"), nullable=True),
    Column("requester_id", ForeignKey("people.id"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("category", String(32), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("description", Text, nullable=False),
    Column("impact", String(8), nullable=False),
    Column("urgency", String(8), nullable=False),
    Column("priority", String(4)),
    Column("service_type", String(32), nullable=False),
    Column("change_type", String(32), nullable=False),
    Column("status", String(32), nullable=False),
    Column("assignee_id", ForeignKey("people.id"), nullable=True),
    Column("support_line", String(16)),
    Column("reaction_due_at", UtcDateTime),
    Column("resolution_due_at", UtcDateTime),
    Column("responded_at", UtcDateTime),
    Column("resolved_at", UtcDateTime),
    Column("closed_at", UtcDateTime),
    Column("closure", String(16)),
    Column("diagnosis", Text),
    Column("resolution", Text),
    Column("root_cause", Text),
    Column("vendor_name", String(200)),
    Column("vendor_kind", String(32)),
    Column("vendor_reference", String(200)),
    Column("approval_decision", String(16)),
    Column("approved_by_id", ForeignKey("people.id"), nullable=True),
    Column("reopen_count", Integer, nullable=False, default=0),
    # SLA clock (itsm.domain.sla_clock), recomputed from the status history at every change.
    Column("reaction_target_hours", Numeric(8, 2)),
    Column("resolution_target_hours", Numeric(8, 2)),
    Column("reaction_warn_at", UtcDateTime),
    Column("resolution_warn_at", UtcDateTime),
    Column("sla_paused_since", UtcDateTime),
    # False for a report from a contact no person of the client is known by (SMS, phone).
    Column("requester_verified", Boolean, nullable=False, default=True),
    Column("reported_contact", String(320)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False, default=1),
    Index("ix_tickets_client_created", "client_id", "created_at"),
    Index("ix_tickets_status_resolution_due", "status", "resolution_due_at"),
)

process_definitions = Table(
    "process_definitions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(120), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("bpmn_xml", Text, nullable=False),
    Column("dmn_json", Text, nullable=False),
    Column("forms_json", Text, nullable=False),
    Column("deployed_by", String(120), nullable=False),
    Column("deployed_at", UtcDateTime, nullable=False),
    Column("comment", Text, nullable=False, default=""),
    # The scenario file the version passed at deploy time (JSON text); NULL: none given.
    Column("scenarios_json", Text, nullable=True),
    UniqueConstraint("key", "version"),
    Index("ix_process_definitions_key_hash", "key", "content_hash"),
)

process_drafts = Table(
    # The designer's saved, undeployed work: one draft per process key.
    "process_drafts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(120), nullable=False, unique=True),
    Column("bpmn_xml", Text, nullable=False),
    Column("dmn_json", Text, nullable=False),
    Column("forms_json", Text, nullable=False),
    Column("scenarios_json", Text, nullable=True),
    Column("saved_by", String(120), nullable=False),
    Column("saved_at", UtcDateTime, nullable=False),
    Column("based_on_definition_id", ForeignKey("process_definitions.id"), nullable=True),
    Column("version", Integer, nullable=False),
)

process_instances = Table(
    "process_instances",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, unique=True),
    Column("definition_id", ForeignKey("process_definitions.id"), nullable=False),
    Column("state", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("next_timer_at", UtcDateTime),
    Column("started_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    # A failed automatic step (status 'failing' or 'incident'); empty while running.
    Column("failed_element", String(120)),
    Column("last_error", Text),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("failed_since", UtcDateTime),
    Column("next_retry_at", UtcDateTime),
    Index("ix_process_instances_status_timer", "status", "next_timer_at"),
    Index("ix_process_instances_status_retry", "status", "next_retry_at"),
)

human_tasks = Table(
    "human_tasks",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("instance_id", ForeignKey("process_instances.id"), nullable=False, index=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False),
    Column("element_id", String(120), nullable=False),
    Column("name", String(200), nullable=False),
    Column("candidate_group", String(40), nullable=False),
    Column("form_key", String(200)),
    Column("status", String(16), nullable=False),
    Column("assignee", String(120)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime),
    Column("completed_at", UtcDateTime),
    Column("completed_by", String(120)),
    Column("due_at", UtcDateTime),
    Column("version", Integer, nullable=False, default=1),
    # Matches the inbox order (most urgent due time first, NULLs last, then oldest).
    Index("ix_human_tasks_queue", "status", "candidate_group", "due_at", "created_at"),
    Index("ix_human_tasks_assignee", "assignee", "status"),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=True),
    Column("instance_id", Integer, nullable=True),
    Column("task_id", String(36), nullable=True),
    Column("element_id", String(120), nullable=True),
    Column("summary", String(400), nullable=False),
    Column("payload", Text, nullable=False, default="{}"),
    Index("ix_audit_events_ticket", "ticket_id", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("message_id", String(200), nullable=False, unique=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=True),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("template", String(60), nullable=False),
    Column("language", String(8), nullable=False),
    Column("context", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("last_error", Text),
    # A worker leases a batch; if it dies the lease runs out and another worker retries.
    Column("leased_until", UtcDateTime),
    Column("leased_by", String(64)),
    Index("ix_outbox_pending", "status", "next_attempt_at"),
)

kb_articles = Table(
    "kb_articles",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=True, unique=True),
    Column("client_id", ForeignKey("clients.id"), nullable=True),
    Column("category", String(32), nullable=False),
    Column("title", String(300), nullable=False),
    Column("problem", Text, nullable=False),
    Column("solution", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
)

time_entries = Table(
    "time_entries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("task_id", String(36)),
    Column("minutes", Integer, nullable=False),
    Column("service_type", String(32), nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
)

hour_packages = Table(
    "hour_packages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False, index=True),
    Column("service_type", String(32), nullable=False),
    Column("hours", Integer, nullable=False),
    Column("price_pln", Numeric(12, 2), nullable=False),
    Column("purchased_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("minutes_used", Integer, nullable=False, default=0),
)

package_deductions = Table(
    "package_deductions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("package_id", ForeignKey("hour_packages.id"), nullable=True),
    Column("minutes", Integer, nullable=False),
    Column("deducted_at", UtcDateTime, nullable=False),
)

field_visits = Table(
    "field_visits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("ordered_by_id", ForeignKey("people.id"), nullable=False),
    Column("ordered_at", UtcDateTime, nullable=False),
    Column("site_id", ForeignKey("sites.id"), nullable=True),
    Column("status", String(16), nullable=False),
    Column("technician", String(120)),
    Column("arrived_at", UtcDateTime),
    Column("minutes", Integer),
    Column("outcome", String(16)),
    Column("parts_used", Text),
    Column("report", Text),
)

login_sessions = Table(
    "login_sessions",
    metadata,
    # sha256 of the random token: a stolen database does not yield usable sessions
    Column("id", String(64), primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False, index=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime),
    Column("method", String(16), nullable=False),
)

login_failures = Table(
    # Failed password checks per typed username (known or not), for throttling guessing.
    "login_failures",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(120), nullable=False),
    Column("failed_at", UtcDateTime, nullable=False),
    Index("ix_login_failures_username_failed_at", "username", "failed_at"),
)

comments = Table(
    "comments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("author_id", ForeignKey("people.id"), nullable=False),
    Column("body", Text, nullable=False),
    Column("internal", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
)

attachments = Table(
    "attachments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False, index=True),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    Column("display_name", String(255), nullable=False),
    Column("media_type", String(120), nullable=False),
    Column("uploaded_by_id", ForeignKey("people.id"), nullable=False),
    Column("internal", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("channel", String(16), nullable=False),
    # Message-ID for e-mail, the gateway's id for SMS, fingerprint for alerts: never twice.
    Column("external_id", String(400), nullable=False),
    Column("sender", String(320), nullable=False),
    Column("subject", String(400), nullable=False, default=""),
    Column("received_at", UtcDateTime, nullable=False),
    # ticket_created | comment_added | ignored | quarantined | dismissed
    Column("outcome", String(20), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=True, index=True),
    Column("raw_sha256", String(64), nullable=True),
    Column("size", Integer, nullable=False, default=0),
    # Who released or dismissed a quarantined message, when and why; ``reason`` keeps why it
    # was quarantined (there is no ticket whose audit log could hold this).
    Column("reviewed_by", String(120), nullable=True),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("review_note", Text, nullable=True),
    UniqueConstraint("channel", "external_id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(120), nullable=False),
    # SHA-256 of a 256-bit random token: shown once at creation, never stored.
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("revoked_at", UtcDateTime),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("token_id", ForeignKey("api_tokens.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

ticket_status_changes = Table(
    "ticket_status_changes",
    metadata,
    # Append-only: the status (and support line) a ticket entered, and when. The SLA clock,
    # escalation counts and time-in-status figures are all computed from these rows.
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("status", String(32), nullable=False),
    Column("support_line", String(16)),
    Index("ix_ticket_status_changes_ticket_at", "ticket_id", "at"),
)

sla_alarms = Table(
    "sla_alarms",
    metadata,
    # One row per ticket x clock x threshold; fired_at set once by the SLA monitor's single
    # UPDATE ... WHERE fired_at IS NULL, so a threshold fires once however often scans run.
    Column("id", Integer, primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=False),
    Column("clock", String(16), nullable=False),
    Column("threshold", String(16), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("fired_at", UtcDateTime),
    UniqueConstraint("ticket_id", "clock", "threshold"),
    # Only unfired alarms are scanned: the index holds them alone, however many have fired.
    Index(
        "ix_sla_alarms_pending_due",
        "due_at",
        sqlite_where=text("fired_at IS NULL"),
        postgresql_where=text("fired_at IS NULL"),
    ),
)

notifications = Table(
    "notifications",
    metadata,
    # In-app notices (the lead's SLA warnings and breaches); e-mail goes through the outbox.
    Column("id", Integer, primary_key=True),
    Column("person_id", ForeignKey("people.id"), nullable=False),
    Column("ticket_id", ForeignKey("tickets.id"), nullable=True),
    Column("kind", String(40), nullable=False),
    Column("summary", String(400), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime),
    Index("ix_notifications_person_read", "person_id", "read_at", "id"),
)

monthly_reports = Table(
    "monthly_reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", ForeignKey("clients.id"), nullable=False),
    Column("month", String(7), nullable=False),  # YYYY-MM
    Column("generated_at", UtcDateTime, nullable=False),
    Column("generated_by", String(120), nullable=False),
    Column("ticket_count", Integer, nullable=False),
    Column("html_sha256", String(64), nullable=False),
    Column("pdf_sha256", String(64), nullable=False),
    Column("csv_sha256", String(64), nullable=False),
    Column("figures", Text, nullable=False),
    Column("sent_at", UtcDateTime),
    UniqueConstraint("client_id", "month"),
)
