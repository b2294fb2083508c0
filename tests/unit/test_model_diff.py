"""Version diffs on the bundled lifecycle: what a person changed, never how it is drawn."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import SpiffWorkflow
from lxml import etree

from itsm.modeling import diff_sources, semantic_summary
from itsm.modeling._defaults import XSD_DEFAULTS
from itsm.process_files import read_process_source
from itsm.services.ports import ProcessSource
from itsm.settings import PROJECT_ROOT

LIFECYCLE = read_process_source(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn")


def with_bpmn(old: str, new: str, source: ProcessSource = LIFECYCLE) -> ProcessSource:
    assert old in source.bpmn_xml
    return dataclasses.replace(source, bpmn_xml=source.bpmn_xml.replace(old, new, 1))


def with_dmn(name: str, old: str, new: str) -> ProcessSource:
    dmn = dict(LIFECYCLE.dmn_xml)
    assert old in dmn[name]
    dmn[name] = dmn[name].replace(old, new, 1)
    return dataclasses.replace(LIFECYCLE, dmn_xml=dmn)


def reserialized(xml: str) -> str:
    """The same model as another editor might write it: attributes in reverse order, other
    indentation, other namespace prefixes, no ``incoming``/``outgoing`` children."""
    root = etree.fromstring(xml.encode("utf-8"))
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        attributes = list(element.attrib.items())
        element.attrib.clear()
        for key, value in reversed(attributes):
            element.set(key, value)
    for element in root.iter("{*}incoming", "{*}outgoing"):
        element.getparent().remove(element)
    renamed = etree.Element(
        root.tag,
        nsmap={
            "model": "http://www.omg.org/spec/BPMN/20100524/MODEL",
            "extension": "http://spiffworkflow.org/bpmn/schema/1.0/core",
            "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
            "dc": "http://www.omg.org/spec/DD/20100524/DC",
            "di": "http://www.omg.org/spec/DD/20100524/DI",
            "xsi": "http://www.w3.org/2001/XMLSchema-instance",
        },
    )
    renamed.attrib.update(root.attrib)
    renamed.extend(copy.deepcopy(list(root)))
    etree.indent(renamed, space="\t")
    text = etree.tostring(renamed, encoding="unicode")
    # xsi:type values name types by the file's prefix: follow the renaming.
    return text.replace('"bpmn:tFormalExpression"', '"model:tFormalExpression"')


def test_the_same_source_has_no_changes() -> None:
    assert diff_sources(LIFECYCLE, LIFECYCLE).is_empty
    assert diff_sources(LIFECYCLE, LIFECYCLE).lines() == []


def test_layout_only_is_no_change() -> None:
    moved = with_bpmn('<dc:Bounds x="182" y="527"', '<dc:Bounds x="1820" y="5270"')
    assert moved.bpmn_xml != LIFECYCLE.bpmn_xml
    assert diff_sources(LIFECYCLE, moved).is_empty
    start = LIFECYCLE.bpmn_xml.index("<bpmndi:BPMNDiagram")
    end = LIFECYCLE.bpmn_xml.index("</bpmndi:BPMNDiagram>") + len("</bpmndi:BPMNDiagram>")
    without_diagram = dataclasses.replace(
        LIFECYCLE, bpmn_xml=LIFECYCLE.bpmn_xml[:start] + LIFECYCLE.bpmn_xml[end:]
    )
    assert diff_sources(LIFECYCLE, without_diagram).is_empty


def test_attribute_order_prefixes_and_formatting_are_no_change() -> None:
    rewritten = dataclasses.replace(LIFECYCLE, bpmn_xml=reserialized(LIFECYCLE.bpmn_xml))
    assert "model:userTask" in rewritten.bpmn_xml
    assert semantic_summary(rewritten) == semantic_summary(LIFECYCLE)


def test_attributes_at_their_bpmn_default_are_no_change() -> None:
    # bpmn-js leaves them out, a hand-written file may spell them out: the same model.
    assert LIFECYCLE.bpmn_xml.count('cancelActivity="true"') == 2
    as_bpmn_js_writes_it = dataclasses.replace(
        LIFECYCLE, bpmn_xml=LIFECYCLE.bpmn_xml.replace(' cancelActivity="true"', "")
    )
    spelled_out = with_bpmn(
        '<bpmn:process id="ticket_lifecycle"',
        '<bpmn:process processType="None" isClosed="false" id="ticket_lifecycle"',
    )
    spelled_out = with_bpmn(
        '<bpmn:startEvent id="ticket_registered"',
        '<bpmn:startEvent isInterrupting="true" parallelMultiple="0" id="ticket_registered"',
        spelled_out,
    )
    spelled_out = with_bpmn(
        '<bpmn:userTask id="l1_triage"',
        '<bpmn:userTask implementation="##unspecified" startQuantity=" 1 " '
        'completionQuantity="1" isForCompensation="false" id="l1_triage"',
        spelled_out,
    )
    spelled_out = with_bpmn(
        '<bpmn:exclusiveGateway id="gw_l1_merge"',
        '<bpmn:exclusiveGateway gatewayDirection="Unspecified" id="gw_l1_merge"',
        spelled_out,
    )
    spelled_out = with_bpmn(
        '<bpmn:serviceTask id="assign_l1_engineer"',
        '<bpmn:serviceTask implementation="##WebService" id="assign_l1_engineer"',
        spelled_out,
    )
    assert semantic_summary(as_bpmn_js_writes_it) == semantic_summary(LIFECYCLE)
    assert semantic_summary(spelled_out) == semantic_summary(LIFECYCLE)
    assert diff_sources(LIFECYCLE, as_bpmn_js_writes_it).is_empty
    assert diff_sources(spelled_out, as_bpmn_js_writes_it).is_empty


def test_attributes_off_their_default_are_a_change() -> None:
    kept_running = with_bpmn(
        'attachedToRef="l1_triage" cancelActivity="true"',
        'attachedToRef="l1_triage" cancelActivity="false"',
    )
    [change] = diff_sources(LIFECYCLE, kept_running).changed
    assert (change.element_id, change.aspects) == ("alert_resolved_at_source", ("attributes",))
    assert change.after["attributes"] == {
        "attachedToRef": "l1_triage",
        "cancelActivity": "false",
    }
    # The same attribute name on an element whose schema gives it no default stays.
    direction = with_bpmn(
        '<bpmn:exclusiveGateway id="gw_l1_merge"',
        '<bpmn:exclusiveGateway gatewayDirection="Converging" id="gw_l1_merge"',
    )
    [change] = diff_sources(LIFECYCLE, direction).changed
    assert change.after["attributes"]["gatewayDirection"] == "Converging"


def _schema_defaults() -> dict[str, dict[str, str]]:
    """Every BPMN element's attribute defaults, read from the XSD SpiffWorkflow ships."""
    xs = "{http://www.w3.org/2001/XMLSchema}"
    folder = Path(SpiffWorkflow.__file__).parent / "bpmn" / "parser" / "schema"
    types: dict[str, tuple[str | None, dict[str, str]]] = {}
    element_types: dict[str, str] = {}
    for name in ("Semantic.xsd", "BPMN20.xsd"):
        root = etree.parse(str(folder / name)).getroot()
        for complex_type in root.iter(f"{xs}complexType"):
            extension = complex_type.find(f".//{xs}extension")
            own = {
                attribute.get("name"): attribute.get("default")
                for attribute in complex_type.iter(f"{xs}attribute")
                if attribute.get("default") is not None
            }
            base = None if extension is None else extension.get("base")
            types[complex_type.get("name")] = (base, own)
        for element in root.findall(f"{xs}element"):
            if element.get("type"):
                element_types[element.get("name")] = element.get("type")

    def inherited(type_name: str) -> dict[str, str]:
        base, own = types.get(type_name.split(":")[-1], (None, {}))
        return {**(inherited(base) if base else {}), **own}

    found = {name: inherited(type_name) for name, type_name in element_types.items()}
    return {name: defaults for name, defaults in found.items() if defaults}


def test_the_default_table_is_the_bpmn_schemas() -> None:
    table: dict[str, Any] = {name: dict(each) for name, each in XSD_DEFAULTS.items()}
    assert table == _schema_defaults()


def test_a_renamed_task() -> None:
    renamed = with_bpmn('name="Confirm resolution"', 'name="Confirm the fix works"')
    diff = diff_sources(LIFECYCLE, renamed)
    [change] = diff.changed
    assert (change.element_id, change.element_type, change.aspects) == (
        "confirm_resolution",
        "userTask",
        ("name",),
    )
    assert change.before["name"] == "Confirm resolution"
    assert diff.lines() == ["~ user task 'Confirm the fix works' (confirm_resolution): name"]


def test_an_added_task_changes_the_flows_around_it() -> None:
    added = with_bpmn(
        '<bpmn:sequenceFlow id="flow_follow_up_check_to_closed" sourceRef="follow_up_check" '
        'targetRef="closed" />',
        '<bpmn:task id="survey" name="Send survey" />'
        '<bpmn:sequenceFlow id="flow_follow_up_check_to_survey" sourceRef="follow_up_check" '
        'targetRef="survey" />'
        '<bpmn:sequenceFlow id="flow_survey_to_closed" sourceRef="survey" targetRef="closed" />',
    )
    diff = diff_sources(LIFECYCLE, added)
    assert [a.element_id for a in diff.added] == [
        "survey",
        "flow_follow_up_check_to_survey",
        "flow_survey_to_closed",
    ]
    assert [r.element_id for r in diff.removed] == ["flow_follow_up_check_to_closed"]
    changed = {c.element_id: c.aspects for c in diff.changed}
    assert changed == {"follow_up_check": ("outgoing",), "closed": ("incoming",)}
    back = diff_sources(added, LIFECYCLE)
    assert [r.element_id for r in back.removed] == [a.element_id for a in diff.added]


def test_condition_property_and_timer_changes() -> None:
    changed = with_bpmn("outcome == 'field_visit'", "outcome in ('field_visit', 'on_site')")
    changed = with_bpmn('value="field_visit" />', 'value="on_site" />', changed)
    changed = with_bpmn(">follow_up_after<", ">'P14D'<", changed)
    aspects = {c.element_id: c.aspects for c in diff_sources(LIFECYCLE, changed).changed}
    assert aspects == {
        "flow_l1_outcome_field_visit": ("condition",),
        "field_visit": ("properties",),
        "follow_up_timer": ("events", "timers"),
    }


def test_a_changed_dmn_rule() -> None:
    changed = with_dmn(
        "priority_matrix.dmn",
        '<outputEntry id="priority_matrix_rule_2_out_1">\n          <text>"P2"</text>',
        '<outputEntry id="priority_matrix_rule_2_out_1">\n          <text>"P1"</text>',
    )
    diff = diff_sources(LIFECYCLE, changed)
    assert not diff.changed and not diff.added
    [decision] = diff.decisions_changed
    assert decision.decision_id == "priority_matrix"
    assert decision.rules_changed == ("priority_matrix_rule_2",)
    assert decision.table_changed == () and decision.rules_added == ()
    assert diff.lines() == ["~ decision priority_matrix: rule priority_matrix_rule_2 changed"]


def test_an_added_dmn_rule_and_a_changed_hit_policy() -> None:
    xml = LIFECYCLE.dmn_xml["priority_matrix.dmn"]
    start = xml.index('<rule id="priority_matrix_rule_1">')
    end = xml.index("</rule>", start) + len("</rule>")
    copy_of_rule = xml[start:end].replace("priority_matrix_rule_1", "priority_matrix_rule_extra")
    more = with_dmn("priority_matrix.dmn", "</decisionTable>", copy_of_rule + "</decisionTable>")
    more = dataclasses.replace(
        more,
        dmn_xml={
            **more.dmn_xml,
            "priority_matrix.dmn": more.dmn_xml["priority_matrix.dmn"].replace(
                'hitPolicy="UNIQUE"', 'hitPolicy="COLLECT"'
            ),
        },
    )
    [decision] = diff_sources(LIFECYCLE, more).decisions_changed
    assert decision.rules_added == ("priority_matrix_rule_extra",)
    assert decision.table_changed == ("hit_policy",)


def test_reordered_dmn_rules_are_a_change() -> None:
    xml = LIFECYCLE.dmn_xml["priority_matrix.dmn"]
    first = xml.index('<rule id="priority_matrix_rule_1">')
    second = xml.index('<rule id="priority_matrix_rule_2">')
    third = xml.index('<rule id="priority_matrix_rule_3">')
    swapped = xml[:first] + xml[second:third] + xml[first:second] + xml[third:]
    source = dataclasses.replace(
        LIFECYCLE, dmn_xml={**LIFECYCLE.dmn_xml, "priority_matrix.dmn": swapped}
    )
    [decision] = diff_sources(LIFECYCLE, source).decisions_changed
    assert decision.table_changed == ("rule_order",) and decision.rules_changed == ()


def test_form_changes() -> None:
    forms = {name: copy.deepcopy(form) for name, form in LIFECYCLE.forms.items()}
    forms["l1_triage.schema.json"]["title"] = "Triage (new wording)"
    forms["survey.schema.json"] = {"type": "object"}
    del forms["follow_up_check.schema.json"]
    diff = diff_sources(LIFECYCLE, dataclasses.replace(LIFECYCLE, forms=forms))
    assert diff.forms_changed == ("l1_triage.schema.json",)
    assert diff.forms_added == ("survey.schema.json",)
    assert diff.forms_removed == ("follow_up_check.schema.json",)
    reordered = {name: dict(reversed(form.items())) for name, form in LIFECYCLE.forms.items()}
    assert diff_sources(LIFECYCLE, dataclasses.replace(LIFECYCLE, forms=reordered)).is_empty


def test_against_nothing_everything_is_new() -> None:
    diff = diff_sources(ProcessSource(""), LIFECYCLE)
    assert len(diff.added) == len(semantic_summary(LIFECYCLE)["elements"])
    assert set(diff.decisions_added) == {"priority_matrix", "sla_targets"}
