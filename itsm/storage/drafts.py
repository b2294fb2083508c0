"""Designer drafts: one saved, undeployed model per process key, with a version per save."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, delete, insert, select, union, update
from sqlalchemy.exc import IntegrityError

from itsm.domain.errors import ConflictError
from itsm.domain.process import ProcessDraft
from itsm.storage import tables as t

_DRAFTS = t.process_drafts


def _draft(row: RowMapping) -> ProcessDraft:
    return ProcessDraft(
        id=row["id"],
        key=row["key"],
        bpmn_xml=row["bpmn_xml"],
        dmn_xml=json.loads(row["dmn_json"]),
        forms=json.loads(row["forms_json"]),
        scenarios_json=row["scenarios_json"],
        saved_by=row["saved_by"],
        saved_at=row["saved_at"],
        based_on_definition_id=row["based_on_definition_id"],
        version=row["version"],
    )


class DraftRepository:
    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def process_keys(self) -> list[str]:
        """Keys with a draft or a deployed version."""
        drafts = select(_DRAFTS.c.key)
        deployed = select(t.process_definitions.c.key)
        return sorted({str(key) for key in self._db.execute(union(drafts, deployed)).scalars()})

    def get(self, key: str) -> ProcessDraft | None:
        row = self._db.execute(select(_DRAFTS).where(_DRAFTS.c.key == key)).mappings().first()
        return None if row is None else _draft(row)

    def save(
        self,
        *,
        key: str,
        bpmn_xml: str,
        dmn_xml: dict[str, str],
        forms: dict[str, Any],
        scenarios_json: str | None,
        saved_by: str,
        saved_at: datetime,
        based_on_definition_id: int | None,
        expected_version: int,
    ) -> ProcessDraft:
        """Insert (``expected_version`` 0: there is no draft yet) or replace the draft whose
        version is ``expected_version``; anything else is a ConflictError."""
        values = {
            "bpmn_xml": bpmn_xml,
            "dmn_json": json.dumps(dmn_xml),
            "forms_json": json.dumps(forms),
            "scenarios_json": scenarios_json,
            "saved_by": saved_by,
            "saved_at": saved_at,
            "based_on_definition_id": based_on_definition_id,
        }
        if expected_version == 0:
            try:
                with self._db.begin_nested():
                    self._db.execute(insert(_DRAFTS).values(key=key, version=1, **values))
            except IntegrityError as err:
                raise self._stale(key, expected_version) from err
        else:
            changed = self._db.execute(
                update(_DRAFTS)
                .where(_DRAFTS.c.key == key, _DRAFTS.c.version == expected_version)
                .values(version=_DRAFTS.c.version + 1, **values)
            ).rowcount
            if changed != 1:
                raise self._stale(key, expected_version)
        saved = self.get(key)
        assert saved is not None, "the draft just saved is gone"
        return saved

    def delete(self, key: str, *, version: int | None = None) -> bool:
        """Remove the draft (only if still at ``version``, when given); whether it went."""
        statement = delete(_DRAFTS).where(_DRAFTS.c.key == key)
        if version is not None:
            statement = statement.where(_DRAFTS.c.version == version)
        return bool(self._db.execute(statement).rowcount)

    def _stale(self, key: str, expected_version: int) -> ConflictError:
        current = self.get(key)
        if current is None:
            return ConflictError(
                f"the draft of {key} you edited (version {expected_version}) was deployed or "
                "discarded meanwhile: open it again"
            )
        return ConflictError(
            f"the draft of {key} was saved by {current.saved_by} at "
            f"{current.saved_at:%Y-%m-%d %H:%M} UTC (version {current.version}) after you "
            f"opened version {expected_version}: open it again and redo your change"
        )
