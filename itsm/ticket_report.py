"""Plain-text rendering of a ticket and its timeline for the terminal."""

from __future__ import annotations

from itsm.services.ticket_views import TicketDetails


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"  # type: ignore[attr-defined]


def render_ticket(details: TicketDetails) -> str:
    t = details.ticket
    lines = [
        f"{t.number}  {t.subject}",
        f"  client     {details.client.name} ({details.client.code}, "
        f"{details.client.sla_tier.value})",
        f"  requester  {details.requester.full_name} <{details.requester.email or '-'}>",
        f"  status     {t.status.value}" + (f" ({t.closure.value})" if t.closure else ""),
        f"  priority   {t.priority or '-'}   impact {t.impact.value}   urgency {t.urgency.value}",
        f"  category   {t.category.value}   service {t.service_type.value}   channel "
        f"{t.channel.value}   change {t.change_type.value}",
        f"  assignee   {details.assignee.full_name if details.assignee else '-'}   line "
        f"{t.support_line or '-'}",
        f"  reaction   due {_when(t.reaction_due_at)}   first response {_when(t.responded_at)}",
        f"  resolution due {_when(t.resolution_due_at)}   resolved {_when(t.resolved_at)}",
    ]
    if t.vendor_name:
        lines.append(f"  vendor     {t.vendor_name} ({t.vendor_kind}), ref {t.vendor_reference}")
    if t.approval_decision:
        lines.append(f"  approval   {t.approval_decision}")
    if t.resolution:
        lines.append(f"  resolution {t.resolution}")
    lines.append(f"  time spent {details.minutes_spent} min")
    if details.instance is not None:
        lines.append(
            f"  process    v{details.process_version}, {details.instance.status.value}, "
            f"next timer {_when(details.instance.next_timer_at)}"
        )
    open_tasks = [task for task in details.tasks if task.status.value == "open"]
    for task in open_tasks:
        lines.append(
            f"  waiting    {task.name} [{task.candidate_group}] "
            f"{task.assignee or '(unclaimed)'}  id {task.id}"
        )
    lines.append("")
    lines.append("Timeline")
    for event in details.timeline:
        lines.append(
            f"  {_when(event['occurred_at'])}  {event['kind']:<20} {event['summary']}"
            f"  [{event['actor']}]"
        )
    lines.append("")
    lines.append(f"Notifications ({len(details.notifications)})")
    for message in details.notifications:
        lines.append(f"  {message['template']:<22} → {message['recipient']} ({message['status']})")
    return "\n".join(lines)
