"""Monitoring alerts as Prometheus Alertmanager (webhook v4) and Grafana send them."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from itsm.domain.tickets import Category, Level


class Alert(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: str | None = Field(
        default=None,
        pattern="^(firing|resolved)$",
        description="Missing in some senders: the notification's applies",
    )
    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL", max_length=2000)
    fingerprint: str | None = Field(default=None, max_length=200)

    @field_validator("labels", "annotations")
    @classmethod
    def _bounded(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > 100 or any(len(k) > 200 or len(v) > 4000 for k, v in value.items()):
            raise ValueError("too many or too long labels")
        return value

    @property
    def identity(self) -> str:
        """One alert occurrence: the same alert firing again after resolving is a new one."""
        fingerprint = (
            self.fingerprint
            or hashlib.sha256(json.dumps(self.labels, sort_keys=True).encode()).hexdigest()[:16]
        )
        return f"{fingerprint}:{self.starts_at.isoformat()}"

    @property
    def name(self) -> str:
        return self.labels.get("alertname") or self.labels.get("__alert_rule_title__") or "alert"

    @property
    def severity(self) -> Level:
        value = self.labels.get("severity", "").lower()
        if value in ("critical", "page", "disaster", "high"):
            return Level.HIGH
        if value in ("info", "informational", "low", "none"):
            return Level.LOW
        return Level.MEDIUM

    @property
    def category(self) -> Category:
        try:
            return Category(self.labels.get("category", "infrastructure"))
        except ValueError:
            return Category.INFRASTRUCTURE

    def summary(self) -> str:
        text = (
            self.annotations.get("summary")
            or self.annotations.get("description")
            or self.annotations.get("message")
            or self.name
        )
        where = self.labels.get("site") or self.labels.get("instance") or ""
        return f"{self.name}{' at ' + where if where else ''}: {text}"[:280]

    def details(self) -> str:
        lines = [self.summary(), ""]
        lines += [f"{k}: {v}" for k, v in sorted(self.annotations.items())]
        lines += ["", "Labels:"] + [f"  {k}={v}" for k, v in sorted(self.labels.items())]
        lines += [f"Started: {self.starts_at.isoformat()}"]
        if self.generator_url:
            lines.append(f"Source: {self.generator_url}")
        return "\n".join(lines)


class AlertNotification(BaseModel):
    """One webhook call; extra fields (Grafana's orgId, title, …) are accepted and ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    version: str | None = None
    group_key: str = Field(default="", alias="groupKey", max_length=2000)
    status: str | None = None
    alerts: list[Alert] = Field(min_length=1, max_length=1000)
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")

    @model_validator(mode="after")
    def _every_alert_has_a_status(self) -> AlertNotification:
        fallback = self.status if self.status in ("firing", "resolved") else "firing"
        for alert in self.alerts:
            if alert.status is None:
                alert.status = fallback
        return self
