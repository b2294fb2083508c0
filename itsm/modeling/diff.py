"""What changed between two versions of a model: elements by BPMN id, DMN rules, forms.

Built on ``semantic_summary``, so moving shapes, reordering attributes or re-indenting the
file is no change at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from itsm.modeling._xml import describe
from itsm.modeling.semantics import semantic_summary
from itsm.services.ports import ProcessSource

_TABLE_ASPECTS = ("file", "name", "hit_policy", "inputs", "outputs", "expression")


@dataclass(frozen=True)
class ElementRef:
    element_id: str
    element_type: str
    name: str

    @property
    def label(self) -> str:
        return describe(self.element_type, self.element_id, self.name)


@dataclass(frozen=True)
class ElementChange:
    element_id: str
    element_type: str
    name: str
    aspects: tuple[str, ...]
    """What differs: type, name, attributes, properties, extensions, condition, timers,
    script, incoming, outgoing, lane, …"""
    before: Mapping[str, Any]
    after: Mapping[str, Any]

    @property
    def label(self) -> str:
        return describe(self.element_type, self.element_id, self.name)


@dataclass(frozen=True)
class DecisionChange:
    decision_id: str
    name: str
    rules_added: tuple[str, ...]
    rules_removed: tuple[str, ...]
    rules_changed: tuple[str, ...]
    table_changed: tuple[str, ...]
    """Aspects of the table itself: file, name, hit_policy, inputs, outputs, rule_order."""


@dataclass(frozen=True)
class ModelDiff:
    added: tuple[ElementRef, ...] = ()
    removed: tuple[ElementRef, ...] = ()
    changed: tuple[ElementChange, ...] = ()
    decisions_added: tuple[str, ...] = ()
    decisions_removed: tuple[str, ...] = ()
    decisions_changed: tuple[DecisionChange, ...] = ()
    forms_added: tuple[str, ...] = ()
    forms_removed: tuple[str, ...] = ()
    forms_changed: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not any(
            (
                self.added,
                self.removed,
                self.changed,
                self.decisions_added,
                self.decisions_removed,
                self.decisions_changed,
                self.forms_added,
                self.forms_removed,
                self.forms_changed,
            )
        )

    def lines(self) -> list[str]:
        """One readable line per change, for the command line and the designer."""
        found = [f"+ {each.label}" for each in self.added]
        found += [f"- {each.label}" for each in self.removed]
        found += [f"~ {each.label}: {', '.join(each.aspects)}" for each in self.changed]
        found += [f"+ decision {each}" for each in self.decisions_added]
        found += [f"- decision {each}" for each in self.decisions_removed]
        for change in self.decisions_changed:
            parts = [f"{aspect} changed" for aspect in change.table_changed]
            parts += [f"rule {rule} added" for rule in change.rules_added]
            parts += [f"rule {rule} removed" for rule in change.rules_removed]
            parts += [f"rule {rule} changed" for rule in change.rules_changed]
            found.append(f"~ decision {change.decision_id}: {'; '.join(parts)}")
        found += [f"+ form {each}" for each in self.forms_added]
        found += [f"- form {each}" for each in self.forms_removed]
        found += [f"~ form {each}" for each in self.forms_changed]
        return found


def diff_sources(old: ProcessSource, new: ProcessSource) -> ModelDiff:
    before, after = semantic_summary(old), semantic_summary(new)
    added, removed, changed = _compare(before["elements"], after["elements"])
    decisions_added, decisions_removed, same = _compare(before["decisions"], after["decisions"])
    forms_added, forms_removed, forms_changed = _compare(before["forms"], after["forms"])
    return ModelDiff(
        added=tuple(_ref(key, after["elements"][key]) for key in added),
        removed=tuple(_ref(key, before["elements"][key]) for key in removed),
        changed=tuple(
            _element_change(key, before["elements"][key], after["elements"][key]) for key in changed
        ),
        decisions_added=tuple(decisions_added),
        decisions_removed=tuple(decisions_removed),
        decisions_changed=tuple(
            _decision_change(key, before["decisions"][key], after["decisions"][key]) for key in same
        ),
        forms_added=tuple(forms_added),
        forms_removed=tuple(forms_removed),
        forms_changed=tuple(forms_changed),
    )


def _compare(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """Keys only in ``after``, only in ``before``, and in both with different values."""
    added = [key for key in after if key not in before]
    removed = [key for key in before if key not in after]
    changed = [key for key in after if key in before and before[key] != after[key]]
    return added, removed, changed


def _ref(element_id: str, record: Mapping[str, Any]) -> ElementRef:
    return ElementRef(element_id, record["type"], record.get("name", ""))


def _element_change(
    element_id: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> ElementChange:
    aspects = tuple(
        aspect
        for aspect in dict.fromkeys([*before, *after])
        if before.get(aspect) != after.get(aspect)
    )
    return ElementChange(
        element_id, after["type"], after.get("name", ""), aspects, dict(before), dict(after)
    )


def _decision_change(
    decision_id: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> DecisionChange:
    added, removed, changed = _compare(before.get("rules", {}), after.get("rules", {}))
    table = [a for a in _TABLE_ASPECTS if before.get(a) != after.get(a)]
    # Rules are tried in order (FIRST): moving one is a change, adding or removing is not.
    kept_before = [r for r in before.get("rule_order", []) if r in after.get("rules", {})]
    kept_after = [r for r in after.get("rule_order", []) if r in before.get("rules", {})]
    if kept_before != kept_after:
        table.append("rule_order")
    return DecisionChange(
        decision_id=decision_id,
        name=after.get("name", ""),
        rules_added=tuple(added),
        rules_removed=tuple(removed),
        rules_changed=tuple(changed),
        table_changed=tuple(table),
    )
