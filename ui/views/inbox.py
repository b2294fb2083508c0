"""Engineer inbox: queues by line, my tasks, filters, claim and open — most urgent first."""

from __future__ import annotations

from typing import Any

import streamlit as st

from itsm.domain.errors import ItsmError
from itsm.domain.sla import SlaTier
from itsm.domain.tickets import Category, Channel
from itsm.services.permissions import groups_of
from ui.components.literal import literal
from ui.components.sla import badge
from ui.session import me, open_task, services

person = me()
desk = services()
st.title("Inbox")

queues = ["My tasks", *sorted(groups_of(person))]
queue = st.radio("Queue", queues, horizontal=True, key="inbox.queue")
with st.expander("Filters"):
    columns = st.columns(5)
    filters: dict[str, list[str]] = {
        "client": columns[0].multiselect(
            "Client", [c.code for c in desk.tickets.clients(person.username)], key="f.client"
        ),
        "sla_tier": columns[1].multiselect("Tier", [t.value for t in SlaTier], key="f.tier"),
        "priority": columns[2].multiselect("Priority", ["P1", "P2", "P3", "P4"], key="f.prio"),
        "category": columns[3].multiselect(
            "Category", [c.value for c in Category], key="f.category"
        ),
        "channel": columns[4].multiselect("Channel", [c.value for c in Channel], key="f.channel"),
    }


def claim(task_id: str) -> None:
    try:
        desk.tasks.claim(task_id, person.username)
        st.toast("Claimed")
    except ItsmError as err:
        st.session_state["inbox.error"] = str(err)


# Refreshes on its own; widgets outside the fragment (filters) keep what the user typed.
@st.fragment(run_every=30)
def task_list() -> None:
    mine = queue == "My tasks"
    items = desk.tasks.inbox(
        person.username, group=None if mine else queue, mine=mine, filters=filters
    )
    if error := st.session_state.pop("inbox.error", None):
        st.error(error)
    if not items:
        st.info("Nothing waiting here.")
        return
    now = desk.clock.now()
    st.caption(f"{len(items)} open task(s), most urgent first")
    for item in items:
        row = st.container(border=True)
        info, sla, actions = row.columns([6, 2, 2])
        ticket = item.ticket
        info.markdown(
            f"**{ticket.number}** · {item.task.name}  \n{literal(ticket.subject)}  \n"
            f":gray[{ticket.priority or '-'} · {ticket.category.value} · "
            f"{ticket.channel.value} · {item.task.assignee or 'unclaimed'}]"
        )
        sla.markdown(badge(item.task.due_at, now))
        key: dict[str, Any] = {"key": f"open.{item.task.id}"}
        if item.task.assignee is None:
            actions.button(
                "Claim", key=f"claim.{item.task.id}", on_click=claim, args=(item.task.id,)
            )
        if actions.button("Open", type="primary", **key):
            open_task(item.task.id)


task_list()
