"""Field technician (phone-sized): today's visits, where to go, and the visit report."""

from __future__ import annotations

import streamlit as st

from itsm.domain.errors import ItsmError
from ui.session import me, open_task, services

person = me()
desk = services()
st.title("Field visits")

jobs = desk.tickets.field_work(person.username)
if not jobs:
    st.info("No visits waiting.")
for job in jobs:
    with st.container(border=True):
        st.markdown(f"**{job.ticket.number}** · {job.ticket.subject}")
        st.markdown(f"{job.client.name} — {job.site_name}  \nAddress: {job.address}")
        st.markdown(f"Contact: {job.contact.full_name} · {job.contact.phone or '-'}")
        if job.task.assignee is None:
            if st.button("Take this visit", key=f"take.{job.task.id}"):
                try:
                    desk.tasks.claim(job.task.id, person.username)
                    st.rerun()
                except ItsmError as err:
                    st.error(str(err))
        elif st.button("Write the visit report", key=f"report.{job.task.id}", type="primary"):
            open_task(job.task.id)
