"""Handing a BPMN message to a ticket's process (e.g. "the alert resolved at source").

Whether the message changes anything is the model's decision: an instance that waits for it
(a boundary or catch event) moves on; one that does not is left as it is and the caller
records the fact only.
"""

from __future__ import annotations

from itsm.domain.process import InstanceStatus
from itsm.services.ports import JsonDict, UnitOfWork
from itsm.services.steps import InstanceMover


class ProcessMessages(InstanceMover):
    def deliver_within(
        self, uow: UnitOfWork, ticket_id: int, message: str, payload: JsonDict, actor: str
    ) -> bool:
        """Deliver in the caller's unit of work; True when the instance caught it."""
        instance = uow.processes.instance_for_ticket(ticket_id)
        if instance is None or instance.status is not InstanceStatus.RUNNING:
            return False
        step = self._runtime.step(uow, actor)
        definition = self._processes.definition(instance.definition_id, uow)
        run = self._engine.deliver_message(
            self._processes.source(instance.definition_id, uow),
            definition.content_hash,
            instance.state,
            message,
            payload,
            step.invoke,
            step.observer_for(ticket_id),
        )
        if run is None:
            return False
        step.audit(ticket_id, "message_caught", f"Process caught message '{message}'")
        step.apply(ticket_id, instance.id, instance.version, run)
        return True
