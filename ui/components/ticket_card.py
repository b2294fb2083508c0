"""The ticket beside a task: who, which client and tier, SLA clocks, what happened so far."""

from __future__ import annotations

from datetime import datetime

import streamlit as st

from itsm.services.ticket_views import TicketDetails
from ui.components.literal import literal
from ui.components.sla import badge

STATUS_COLOURS = {
    "closed": "green",
    "resolved": "green",
    "rejected": "gray",
    "awaiting_approval": "orange",
    "with_vendor": "violet",
    "field_visit": "violet",
    "escalated": "orange",
}


def ticket_summary(details: TicketDetails, now: datetime) -> None:
    ticket = details.ticket
    client = details.client
    st.markdown(f"#### {ticket.number} · {literal(ticket.subject)}")
    st.caption(
        f"{client.name} ({client.code}) · tier **{client.sla_tier.value}** · "
        f"{ticket.service_type.value.replace('_', ' ')} · via {ticket.channel.value}"
    )
    st.markdown(
        f"**Status** :blue-badge[{ticket.status.value.replace('_', ' ')}] · "
        f"**Priority** {ticket.priority or '-'} · **Line** {ticket.support_line or '-'}"
    )
    st.markdown(literal(ticket.description))
    requester = details.requester
    st.markdown(
        f"**Requester:** {literal(requester.full_name)} · {literal(requester.email or '')} · "
        f"{literal(requester.phone or '')}"
        + (" · authorised person" if requester.is_authorised else "")
    )
    if details.assignee:
        st.markdown(f"**Engineer:** {literal(details.assignee.full_name)}")
    if ticket.responded_at is None:
        st.markdown(f"**Reaction:** {badge(ticket.reaction_due_at, now)}")
    if ticket.resolved_at is None and not ticket.status.is_final:
        st.markdown(f"**Resolution:** {badge(ticket.resolution_due_at, now)}")
