"""Deploying the draft, the deployed versions, what changed between two, moving instances."""

from __future__ import annotations

from typing import Any

import streamlit as st

from itsm.domain.errors import InvalidProcess, ItsmError, NotFound
from itsm.domain.process import ProcessDefinition
from itsm.modeling.diff import ModelDiff
from itsm.modeling.lint import LintFinding
from itsm.services.instance_migration import MigrationPlan, MigrationReport
from itsm.services.processes import ScenarioResult
from ui.components.designer.common import (
    PIN_KEY,
    VALIDATION_KEY,
    DraftContext,
    flash,
    full_validation,
    show_findings,
    show_scenario_results,
)
from ui.components.literal import literal
from ui.session import services

PLAN_KEY = "designer.migration.plan"
COMMENT_KEY = "designer.deploy.comment"


def version_label(definition: ProcessDefinition) -> str:
    return (
        f"v{definition.version} · {definition.deployed_at:%Y-%m-%d %H:%M} · "
        f"{definition.deployed_by}"
    )


def show_diff(diff: ModelDiff) -> None:
    """Elements added, removed and changed (with what changed), then decisions and forms."""
    if diff.is_empty:
        st.info("No differences: both describe the same process.")
        return
    elements: list[dict[str, str]] = [
        {"Change": "added", "Element": ref.label, "What changed": ""} for ref in diff.added
    ]
    elements += [
        {"Change": "removed", "Element": ref.label, "What changed": ""} for ref in diff.removed
    ]
    elements += [
        {"Change": "changed", "Element": change.label, "What changed": ", ".join(change.aspects)}
        for change in diff.changed
    ]
    counts = f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed"
    st.markdown(f"**Elements:** {counts}")
    if elements:
        st.dataframe(elements, hide_index=True)
    # lines() lists the elements first, then the decisions and the forms.
    others = diff.lines()[len(diff.added) + len(diff.removed) + len(diff.changed) :]
    if others:
        st.markdown("**Decisions and forms:**")
        st.markdown("\n".join(f"- {literal(line)}" for line in others))


def _refusal(err: InvalidProcess) -> None:
    findings = [each for each in err.findings if isinstance(each, LintFinding)]
    failed = [each for each in err.failed_scenarios if isinstance(each, ScenarioResult)]
    if not (findings or failed):
        st.error(f"Not deployed: {literal(err)}")
        return
    st.error("Not deployed: the draft did not pass the checks. Nothing was changed.")
    if findings:
        show_findings(findings)
    if failed:
        show_scenario_results(failed, failed_only=True)


def deploy_section(ctx: DraftContext) -> None:
    st.caption(
        "Deploying makes the saved draft the version every new ticket runs, after the same "
        "checks as Validate (the model, the engine's parse, the scenarios). Tickets already "
        "open stay on their version unless you migrate them (Versions tab)."
    )
    try:
        pending = services().designer.diff_draft(ctx.key, ctx.actor)
    except ItsmError:
        pending = None  # a draft whose XML does not parse: the findings say why
    if pending is not None:
        with st.expander("What the draft changes against the latest version"):
            show_diff(pending)
    saved = ctx.draft.origin == "draft"
    if not saved:
        st.info("Nothing to deploy: the draft has no saved changes.")
    comment = st.text_input(
        "Comment for this version", key=COMMENT_KEY, placeholder="What changes and why"
    )
    check_column, deploy_column = st.columns(2)
    if check_column.button("Validate", key="designer.validate"):
        st.session_state.pop(VALIDATION_KEY, None)
        full_validation(ctx)
    if deploy_column.button("Deploy", type="primary", disabled=not saved, key="designer.deploy"):
        _deploy(ctx, comment.strip())
    checked = full_validation(ctx, run=False)
    if checked is not None:
        show_findings(checked.findings, none_text="No problems found in the model.")
        if not checked.findings:
            show_scenario_results(checked.scenario_results)


def _deploy(ctx: DraftContext, comment: str) -> None:
    try:
        with st.spinner("Checking the draft, playing its scenarios, deploying…"):
            deployment = services().designer.deploy(ctx.key, ctx.actor, comment)
    except InvalidProcess as err:
        _refusal(err)
        st.stop()
    except NotFound:
        st.error("Not deployed: the draft has no saved changes (deployed by someone else?).")
        st.stop()
    except ItsmError as err:
        st.error(f"Not deployed: {literal(err)}")
        st.stop()
    definition = deployment.definition
    if deployment.created:
        flash(
            "success",
            f"Deployed version {definition.version} of {definition.key}: new tickets run it.",
        )
    else:
        flash("info", f"Nothing new: the draft is identical to version {definition.version}.")
    st.session_state.pop(COMMENT_KEY, None)
    st.session_state.pop(PIN_KEY, None)  # the draft is gone: edit the new version next
    st.rerun()


def versions_section(ctx: DraftContext) -> None:
    versions = services().designer.versions(ctx.key, ctx.actor)
    if not versions:
        st.info("No version of this process is deployed yet.")
        return
    st.dataframe(
        [
            {
                "Version": definition.version,
                "Deployed by": definition.deployed_by,
                "At (UTC)": f"{definition.deployed_at:%Y-%m-%d %H:%M}",
                "Comment": definition.comment,
            }
            for definition in reversed(versions)
        ],
        hide_index=True,
    )
    if len(versions) < 2:
        st.caption("Comparing and migrating need two deployed versions.")
        return
    by_id = {definition.id: definition for definition in versions}
    st.subheader("Compare two versions")
    first, second = _pick_pair(by_id, "designer.diff", ("From", "To"))
    if first == second:
        st.info("Pick two different versions.")
    else:
        older, newer = by_id[first], by_id[second]
        show_diff(services().designer.diff(ctx.key, older.version, newer.version, ctx.actor))
    st.subheader("Migrate waiting tickets")
    _migration(ctx, by_id)


def _pick_pair(
    by_id: dict[int, ProcessDefinition], key: str, labels: tuple[str, str]
) -> tuple[int, int]:
    """Two versions, by default the one before the latest and the latest."""
    ids = list(by_id)
    left, right = st.columns(2)
    chosen = [
        column.selectbox(
            label,
            ids,
            index=len(ids) - 2 + offset,
            format_func=lambda i: version_label(by_id[i]),
            key=f"{key}.{offset}",
        )
        for offset, (column, label) in enumerate(zip((left, right), labels, strict=True))
    ]
    return chosen[0], chosen[1]


def _migration(ctx: DraftContext, by_id: dict[int, ProcessDefinition]) -> None:
    migrations = services().migrations
    source, target = _pick_pair(by_id, "designer.migrate", ("Move tickets from", "To"))
    if source == target:
        st.info("Pick two different versions.")
        return
    if st.button("Dry run: which tickets can move", key="designer.migrate.plan"):
        try:
            st.session_state[PLAN_KEY] = (
                (source, target),
                migrations.plan(source, target, ctx.actor),
            )
        except ItsmError as err:
            st.error(literal(err))
            return
    kept = st.session_state.get(PLAN_KEY)
    if kept is None or kept[0] != (source, target):
        return
    plan: MigrationPlan = kept[1]
    if not plan.items:
        st.info(f"No unfinished ticket runs version {plan.from_version}.")
        return
    st.dataframe(
        [
            {
                "Ticket": item.ticket_number,
                "Waiting at": ", ".join(item.waiting_elements),
                "Can move": "yes" if item.migratable else "no",
                "Why not": item.reason,
            }
            for item in plan.items
        ],
        hide_index=True,
    )
    movable = [item.ticket_number for item in plan.migratable]
    label = f"Migrate {len(movable)} instance{'s' if len(movable) != 1 else ''}"
    if st.button(label, type="primary", disabled=not movable, key="designer.migrate.run"):
        try:
            report = migrations.migrate(source, target, ctx.actor, ticket_numbers=movable)
        except ItsmError as err:
            st.error(f"Not migrated: {literal(err)}")
            return
        st.session_state.pop(PLAN_KEY, None)
        _show_report(report)


def _show_report(report: MigrationReport) -> None:
    moved = len(report.migrated)
    st.success(
        f"Moved {moved} ticket{'s' if moved != 1 else ''} from v{report.from_version} to "
        f"v{report.to_version}" + (f": {', '.join(report.migrated)}." if moved else ".")
    )
    if report.skipped:
        st.warning(f"{len(report.skipped)} stayed on v{report.from_version}:")
        rows: list[dict[str, Any]] = [
            {"Ticket": each.ticket_number, "Why": each.reason} for each in report.skipped
        ]
        st.dataframe(rows, hide_index=True)
