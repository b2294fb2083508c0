"""What every designer section shares: the draft in hand, saving it, showing what is wrong."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from itsm.domain.errors import ConflictError, ItsmError
from itsm.modeling.lint import LintFinding
from itsm.services.designer import Draft
from itsm.services.ports import JsonDict, ProcessSource
from itsm.services.processes import ScenarioResult, Validation
from ui.components.literal import code, literal
from ui.components.modeler import LintMark
from ui.session import services

FLASH_KEY = "designer.flash"
PIN_KEY = "designer.editing"
REFUSED = "designer.refused."
"""Prefix of an editor's save the service refused (``designer.refused.bpmn``,
``designer.refused.dmn.<file>``): the editor keeps showing it instead of the draft."""
CHECK_KEY = "designer.check"
VALIDATION_KEY = "designer.validation"
FlashKind = Literal["success", "info", "warning", "error"]


@dataclass(frozen=True)
class DraftContext:
    """The process being designed, who designs it, and the draft as last read or saved."""

    key: str
    actor: str
    draft: Draft
    editing_version: int
    """The draft version this person's editors started from: a save names it, so a save
    over someone else's newer one is refused instead of silently replacing it."""
    editing_base: int | None
    """The deployed version (its id) that draft started from; a first save names it."""

    def saved_as(self, draft: Draft) -> DraftContext:
        return DraftContext(
            self.key, self.actor, draft, draft.version, draft.based_on_definition_id
        )


def editing(key: str, actor: str, draft: Draft) -> DraftContext:
    """The draft as this person edits it; says so when someone else saved or deployed since."""
    pinned = st.session_state.get(PIN_KEY)
    if pinned is None or pinned[0] != key:
        pin(key, draft)
        return DraftContext(key, actor, draft, draft.version, draft.based_on_definition_id)
    if pinned[1:] != (draft.version, draft.based_on_definition_id):
        who = f" by {draft.saved_by}" if draft.saved_by else ""
        now = (
            f"draft version {draft.version}{who}"
            if draft.origin == "draft"
            else "a deployed version (the draft was deployed)"
        )
        st.warning(
            f"Since you started from draft version {pinned[1]}, the stored draft became {now}. "
            "Your saves are refused so as not to overwrite it: load it to continue from it "
            "(your unsaved edits are dropped)."
        )
        if st.button("Load the stored draft", key="designer.reload"):
            pin(key, draft)
            for refused in [name for name in st.session_state if str(name).startswith(REFUSED)]:
                del st.session_state[refused]
            st.rerun()
    return DraftContext(key, actor, draft, pinned[1], pinned[2])


def pin(key: str, draft: Draft) -> None:
    st.session_state[PIN_KEY] = (key, draft.version, draft.based_on_definition_id)


def flash(kind: FlashKind, text: str) -> None:
    """A message for the next run of the page (the one ``st.rerun`` starts)."""
    st.session_state[FLASH_KEY] = (kind, text)


def show_flash() -> None:
    if message := st.session_state.pop(FLASH_KEY, None):
        kind, text = message
        getattr(st, kind)(text)


def new_save(value: Mapping[str, Any] | None, handled_key: str) -> str | None:
    """The XML of an editor's save not handled yet (an editor repeats its last value on
    every rerun; a remounted editor counts its saves from 1 again, hence the XML too)."""
    if not value or value.get("event") != "save" or not isinstance(value.get("xml"), str):
        return None
    marker = (value.get("seq"), hash(value["xml"]))
    if st.session_state.get(handled_key) == marker:
        return None
    st.session_state[handled_key] = marker
    xml: str = value["xml"]
    return xml


def forget_saves(*handled_keys: str) -> None:
    """An editor not drawn in this run loses its value; its next save starts at seq 1."""
    for handled_key in handled_keys:
        st.session_state.pop(handled_key, None)


_UNCHANGED: Any = object()


def save_draft(
    ctx: DraftContext,
    *,
    bpmn_xml: str | None = None,
    dmn_xml: Mapping[str, str] | None = None,
    forms: Mapping[str, JsonDict] | None = None,
    scenarios: str | None = _UNCHANGED,
) -> Draft | None:
    """Store a new draft version with the given parts replaced. None if refused: the reason
    is flashed, and the caller reruns the page (its editors then show what was refused)."""
    source = ctx.draft.source
    changed = ProcessSource(
        bpmn_xml=source.bpmn_xml if bpmn_xml is None else bpmn_xml,
        dmn_xml=dict(source.dmn_xml if dmn_xml is None else dmn_xml),
        forms=dict(source.forms if forms is None else forms),
    )
    kept = ctx.draft.scenarios if scenarios is _UNCHANGED else scenarios
    try:
        saved = services().designer.save(
            ctx.key,
            changed,
            kept,
            ctx.actor,
            expected_version=ctx.editing_version,
            based_on_definition_id=ctx.editing_base,
        )
    except ConflictError as err:
        flash("error", f"Not saved: someone else changed the draft first ({literal(err)}).")
        return None
    except ItsmError as err:
        flash("error", f"Not saved: {literal(err)}")
        return None
    pin(ctx.key, saved)
    return saved


def _cached(ctx: DraftContext, cache_key: str) -> Validation | None:
    cached = st.session_state.get(cache_key)
    if cached is not None and cached[0] == (ctx.key, ctx.draft.version):
        return cached[1]  # type: ignore[no-any-return]
    return None


def _remember(ctx: DraftContext, cache_key: str, checked: Validation) -> None:
    st.session_state[cache_key] = ((ctx.key, ctx.draft.version), checked)


def model_check(ctx: DraftContext) -> Validation:
    """The model check and the engine's parse of this draft version, without the scenarios
    (milliseconds, so it runs after every save; a full validation takes seconds)."""
    checked = _cached(ctx, CHECK_KEY) or _cached(ctx, VALIDATION_KEY)
    if checked is None:
        checked = services().processes.validate(ctx.draft.source)
        _remember(ctx, CHECK_KEY, checked)
    return checked


def full_validation(ctx: DraftContext, *, run: bool = True) -> Validation | None:
    """Everything a deploy checks, scenarios included (kept for this draft version);
    None when not run yet and ``run`` is false, or when it cannot run (error shown)."""
    checked = _cached(ctx, VALIDATION_KEY)
    if checked is not None or not run:
        return checked
    try:
        with st.spinner("Checking the draft and playing its scenarios…"):
            checked = services().designer.validate_draft(ctx.key, ctx.actor)
    except ItsmError as err:
        st.error(f"The draft cannot be checked: {literal(err)}")
        return None
    _remember(ctx, VALIDATION_KEY, checked)
    return checked


def lint_marks(findings: Iterable[LintFinding]) -> list[LintMark]:
    # Findings about the whole model (no element) are in the list only.
    return [
        LintMark(element_id=finding.element_id, message=finding.message)
        for finding in findings
        if finding.element_id
    ]


def show_findings(
    findings: Iterable[LintFinding], none_text: str = "The model check found no problems."
) -> None:
    """Every problem with the element's name, id and the rule that found it."""
    found = list(findings)
    if not found:
        st.success(none_text)
        return
    st.error(
        f"{len(found)} problem{'s' if len(found) != 1 else ''} to fix before the draft "
        "can be deployed:"
    )
    lines = []
    for finding in found:
        where = finding.element_name or finding.element_id or "the process"
        element_id = finding.element_id or ""
        element = f" ({code(element_id)})" if element_id not in finding.message else ""
        rule = f":gray[{literal(finding.rule)}]"
        lines.append(f"- **{literal(where)}**{element}: {literal(finding.message)} {rule}")
    st.markdown("\n".join(lines))


def show_scenario_results(results: Iterable[ScenarioResult], *, failed_only: bool = False) -> None:
    """Each scenario's result under a count; ``failed_only``: the results are the failed
    ones only (a refused deploy's), so the count says how many failed."""
    ran = list(results)
    if not ran:
        st.info("The draft has no scenarios to run.")
        return
    failed = sum(not result.passed for result in ran)
    summary = f"{len(ran) - failed} of {len(ran)} scenarios passed."
    if failed_only:
        summary = f"{failed} scenario{'s' if failed != 1 else ''} failed:"
    (st.error if failed else st.success)(summary)
    for result in ran:
        badge = ":green-badge[passed]" if result.passed else ":red-badge[failed]"
        steps = f" :gray[after {result.steps_done} step{'s' if result.steps_done != 1 else ''}]"
        message = f": {literal(result.message)}" if result.message else ""
        st.markdown(f"{badge} **{literal(result.name)}**{message}{steps}")
