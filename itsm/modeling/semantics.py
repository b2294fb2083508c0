"""What a model means, without how it is drawn: the canonical form the diff compares.

Diagram interchange (shapes, edges, coordinates), attribute order, namespace prefixes,
comments, ``incoming``/``outgoing`` child elements (derived from the flows instead),
attributes at their BPMN default (``cancelActivity="true"``: editors differ in writing them)
and indentation are left out; everything the engine or a person reading the model acts on
stays: element ids, types, names, flows and conditions, properties and other extensions,
scripts, timers, lanes, documentation, DMN rules and forms.
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from lxml import etree

from itsm.domain.errors import InvalidProcess
from itsm.modeling._defaults import at_default
from itsm.modeling._xml import (
    BPMN,
    DIAGRAM_NAMESPACES,
    SUBPROCESSES,
    TIMER_PARTS,
    XSI,
    elements,
    is_bpmn,
    local,
    namespace,
    parse_xml,
    short_name,
    text_of,
)
from itsm.services.ports import ProcessSource

_SCOPES = frozenset({"definitions", "process", "lane"}) | SUBPROCESSES
"""Elements whose children with an id are elements of their own."""
_TRANSPARENT = frozenset({"laneSet", "childLaneSet", "collaboration"})
"""Containers whose children are recorded as elements of the enclosing scope."""
_DERIVED = frozenset({"incoming", "outgoing"})


def semantic_summary(source: ProcessSource) -> dict[str, Any]:
    """``{"elements": {id: …}, "decisions": {id: …}, "forms": {name: …}}``; equal for two
    sources exactly when they differ in layout and formatting only."""
    return {
        "elements": bpmn_elements(source.bpmn_xml),
        "decisions": {
            decision_id: decision
            for file_name, dmn_xml in sorted(source.dmn_xml.items())
            for decision_id, decision in dmn_decisions(file_name, dmn_xml).items()
        },
        "forms": {name: _canonical_json(form) for name, form in sorted(source.forms.items())},
    }


def _parse(text: str, what: str) -> etree._Element:
    try:
        return parse_xml(text)
    except etree.XMLSyntaxError as err:
        raise InvalidProcess(f"{what} is not well-formed XML: {err}") from err


def _canonical_json(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True))


# --- BPMN ---------------------------------------------------------------------------------


def bpmn_elements(bpmn_xml: str) -> dict[str, dict[str, Any]]:
    if not bpmn_xml.strip():
        return {}
    root = _parse(bpmn_xml, "the BPMN file")
    records: dict[str, dict[str, Any]] = {}
    _walk(root, None, records)
    _add_flows_and_lanes(records)
    return records


def _walk(scope: etree._Element, scope_id: str | None, records: dict[str, dict[str, Any]]) -> None:
    for child in elements(scope):
        if namespace(child) in DIAGRAM_NAMESPACES:
            continue
        tag = local(child)
        if is_bpmn(child) and tag in _TRANSPARENT:
            _walk(child, scope_id, records)
            continue
        element_id = child.get("id")
        if not element_id:
            continue  # content without an id belongs to no element (it is not BPMN)
        records[element_id] = _record(child, scope_id)
        if is_bpmn(child, *_SCOPES):
            _walk(child, element_id, records)


def _record(element: etree._Element, parent: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": local(element) if is_bpmn(element) else short_name(element.tag),
        "name": element.get("name", ""),
        "parent": parent,
    }
    attributes = {
        short_name(key): _attribute_value(element, key, value)
        for key, value in _meaningful(element)
        if key not in ("id", "name")
    }
    for end in ("sourceRef", "targetRef"):
        if end in attributes and record["type"] in ("sequenceFlow", "messageFlow"):
            record[end.removesuffix("Ref")] = attributes.pop(end)
    if attributes:
        record["attributes"] = attributes
    # A scope's children with an id are elements of their own (``_walk`` records them).
    scope = is_bpmn(element, *_SCOPES)
    for child in elements(element):
        if not (scope and child.get("id")):
            _add_child(record, child)
    return record


def _add_child(record: dict[str, Any], child: etree._Element) -> None:
    tag = local(child)
    if not is_bpmn(child):
        record.setdefault("content", []).append(_canonical(child))
    elif tag in _DERIVED or tag in _TRANSPARENT:
        return  # derived from the flows / recorded element by element
    elif tag == "documentation":
        record["documentation"] = _join(record.get("documentation"), text_of(child))
    elif tag == "extensionElements":
        _add_extensions(record, child)
    elif tag == "script":
        record["script"] = _script(child)
    elif tag == "conditionExpression":
        record["condition"] = text_of(child)
    elif tag == "flowNodeRef":
        record.setdefault("nodes", []).append(text_of(child))
        record["nodes"].sort()
    elif tag.endswith("EventDefinition"):
        record.setdefault("events", []).append(_canonical(child, drop_id=True))
        if tag == "timerEventDefinition":
            for part in TIMER_PARTS:
                found = child.find(f"{{{BPMN}}}{part}")
                if found is not None:
                    record.setdefault("timers", {})[part] = text_of(found)
    else:
        record.setdefault("content", []).append(_canonical(child, drop_id=True))


def _add_extensions(record: dict[str, Any], extensions: etree._Element) -> None:
    for each in elements(extensions):
        name = short_name(each.tag)
        if name == "spiffworkflow:properties":
            properties = record.setdefault("properties", {})
            for prop in elements(each):
                properties[prop.get("name", "")] = prop.get("value", text_of(prop))
        elif name in ("spiffworkflow:preScript", "spiffworkflow:postScript"):
            record[name.removeprefix("spiffworkflow:")] = _script(each)
        else:
            record.setdefault("extensions", []).append(_canonical(each))


def _canonical(element: etree._Element, *, drop_id: bool = False) -> dict[str, Any]:
    """Tag, attributes (order-free), stripped text and child elements, recursively."""
    found: dict[str, Any] = {"tag": short_name(element.tag)}
    attributes = {
        short_name(key): _attribute_value(element, key, value)
        for key, value in _meaningful(element)
        if not (drop_id and key == "id")
    }
    if attributes:
        found["attributes"] = attributes
    text = (element.text or "").strip()
    if text:
        found["text"] = text
    children = [_canonical(child, drop_id=drop_id) for child in elements(element)]
    if children:
        found["children"] = children
    return found


def _meaningful(element: etree._Element) -> list[tuple[str, str]]:
    """The attributes as written, less a BPMN element's attributes at their schema default."""
    attributes = [(str(key), str(value)) for key, value in element.attrib.items()]
    if not is_bpmn(element):
        return attributes
    tag = local(element)
    return [(key, value) for key, value in attributes if not at_default(tag, key, value)]


def _attribute_value(element: etree._Element, key: str, value: str) -> str:
    """``xsi:type`` names a type by QName: resolve the file's prefix to the namespace."""
    if key != f"{{{XSI}}}type" or ":" not in value:
        return value
    prefix, _, name = value.partition(":")
    uri = element.nsmap.get(prefix)
    return short_name(f"{{{uri}}}{name}") if uri else value


def _script(element: etree._Element) -> str:
    raw = "".join(element.itertext()).replace("\r\n", "\n")
    return textwrap.dedent(raw).strip()


def _join(first: str | None, second: str) -> str:
    return f"{first}\n{second}" if first else second


def _add_flows_and_lanes(records: dict[str, dict[str, Any]]) -> None:
    """Each flow node's incoming and outgoing flows, from the flows themselves (editors
    disagree on the ``incoming``/``outgoing`` children), and the lane it sits in."""
    for flow_id, flow in records.items():
        if flow["type"] != "sequenceFlow":
            continue
        for end, direction in (("source", "outgoing"), ("target", "incoming")):
            node = records.get(flow.get(end, ""))
            if node is not None:
                node.setdefault(direction, []).append(flow_id)
    for record in records.values():
        for direction in ("incoming", "outgoing"):
            if direction in record:
                record[direction].sort()
    for lane in records.values():
        if lane["type"] == "lane":
            for node_id in lane.get("nodes", []):
                if node_id in records:
                    records[node_id]["lane"] = lane["name"] or lane.get("id")


# --- DMN ----------------------------------------------------------------------------------


def dmn_decisions(file_name: str, dmn_xml: str) -> dict[str, dict[str, Any]]:
    root = _parse(dmn_xml, f"decision file {file_name}")
    decisions = {}
    for decision in root.iter("{*}decision"):
        table = decision.find("{*}decisionTable")
        record: dict[str, Any] = {"file": file_name, "name": decision.get("name", "")}
        if table is None:
            record["expression"] = [_canonical(e, drop_id=True) for e in elements(decision)]
        else:
            record.update(_table(table))
        decisions[decision.get("id", "")] = record
    return decisions


def _table(table: etree._Element) -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {}
    for index, rule in enumerate(table.findall("{*}rule"), start=1):
        rules[rule.get("id") or f"rule {index}"] = {
            "inputs": [text_of(entry.find("{*}text")) for entry in rule.findall("{*}inputEntry")],
            "outputs": [text_of(entry.find("{*}text")) for entry in rule.findall("{*}outputEntry")],
            "description": text_of(rule.find("{*}description")),
        }
    return {
        "hit_policy": table.get("hitPolicy", "UNIQUE"),
        "inputs": [
            {
                "label": each.get("label", ""),
                "expression": text_of(each.find("{*}inputExpression/{*}text")),
                "type": _input_type(each),
            }
            for each in table.findall("{*}input")
        ],
        "outputs": [
            {
                "name": each.get("name", ""),
                "label": each.get("label", ""),
                "type": each.get("typeRef", ""),
            }
            for each in table.findall("{*}output")
        ],
        "rule_order": list(rules),
        "rules": rules,
    }


def _input_type(table_input: etree._Element) -> str:
    expression = table_input.find("{*}inputExpression")
    return str((expression if expression is not None else table_input).get("typeRef", ""))
