"""Functions behind BPMN service tasks, registered by the operation name models use.

Each takes the step's ``TaskContext`` and the task's evaluated parameters and returns a small
JSON-able result that becomes process data.
"""

from __future__ import annotations

from itsm.services.service_tasks import ServiceFunction
from tasks import assignment, authorisation, classification, closure, notifications, resolution


def service_functions() -> dict[str, ServiceFunction]:
    return {
        "notify": notifications.notify,
        "request_approval": notifications.request_approval,
        "apply_classification": classification.apply_classification,
        "check_authorisation": authorisation.check_authorisation,
        "record_approval": authorisation.record_approval,
        "assign_engineer": assignment.assign_engineer,
        "hand_off_to_vendor": resolution.hand_off_to_vendor,
        "schedule_field_visit": resolution.schedule_field_visit,
        "record_visit_report": resolution.record_visit_report,
        "mark_resolved": resolution.mark_resolved,
        "reopen_ticket": resolution.reopen_ticket,
        "close_ticket": closure.close_ticket,
        "publish_knowledge": closure.publish_knowledge,
        "deduct_hours": closure.deduct_hours,
    }
