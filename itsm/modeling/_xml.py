"""Reading BPMN and DMN XML safely, and naming its elements the way people read them."""

from __future__ import annotations

import re

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
DIAGRAM_NAMESPACES = frozenset(
    {
        "http://www.omg.org/spec/BPMN/20100524/DI",
        "http://www.omg.org/spec/DD/20100524/DC",
        "http://www.omg.org/spec/DD/20100524/DI",
        "https://www.omg.org/spec/DMN/20191111/DMNDI/",
        "http://www.omg.org/spec/DMN/20180521/DMNDI/",
        "http://www.omg.org/spec/DMN/20180521/DC/",
        "http://www.omg.org/spec/DMN/20180521/DI/",
    }
)
"""Diagram interchange: where shapes are drawn, never what the process does."""

_PREFIXES = {
    BPMN: "",
    SPIFF: "spiffworkflow:",
    XSI: "xsi:",
    "http://camunda.org/schema/1.0/bpmn": "camunda:",
    "http://camunda.org/schema/zeebe/1.0": "zeebe:",
}

FLOW_NODES = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
        "transaction",
        "adHocSubProcess",
        "exclusiveGateway",
        "inclusiveGateway",
        "parallelGateway",
        "eventBasedGateway",
        "complexGateway",
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
    }
)
SUBPROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
TIMER_PARTS = ("timeDate", "timeDuration", "timeCycle")
"""The children of a ``timerEventDefinition`` that say when it fires."""

_SAFE_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def parse_xml(text: str) -> etree._Element:
    """The root element; raises ``etree.XMLSyntaxError`` when the text is not well-formed.
    Entities are not expanded and nothing is fetched from the network."""
    return etree.fromstring(text.encode("utf-8"), parser=_SAFE_PARSER)


def local(element: etree._Element) -> str:
    return str(etree.QName(element).localname)


def namespace(element: etree._Element) -> str | None:
    found = etree.QName(element).namespace
    return None if found is None else str(found)


def is_bpmn(element: etree._Element, *names: str) -> bool:
    return namespace(element) == BPMN and (not names or local(element) in names)


def short_name(qualified: str) -> str:
    """``{uri}local`` with a fixed prefix per known namespace, whatever the file called it."""
    name = etree.QName(qualified)
    if name.namespace is None:
        return str(name.localname)
    prefix = _PREFIXES.get(name.namespace)
    return f"{prefix}{name.localname}" if prefix is not None else qualified


def elements(parent: etree._Element) -> list[etree._Element]:
    """Child elements, leaving out comments and processing instructions."""
    return [child for child in parent if isinstance(child.tag, str)]


def text_of(element: etree._Element | None) -> str:
    return "" if element is None else "".join(element.itertext()).strip()


def kind_label(tag: str) -> str:
    """``exclusiveGateway`` → "exclusive gateway", ``subProcess`` → "subprocess"."""
    special = {"subProcess": "subprocess", "adHocSubProcess": "ad-hoc subprocess"}
    if tag in special:
        return special[tag]
    return re.sub(r"(?<!^)(?=[A-Z])", " ", tag).lower()


def clean(name: str) -> str:
    """A name as one line: editors keep the line breaks a label was wrapped with."""
    return " ".join(name.split())


def flag(element: etree._Element, attribute: str) -> bool:
    """An ``xsd:boolean`` attribute, false when absent."""
    return str(element.get(attribute, "false")).strip().lower() == "true"


def describe(tag: str, element_id: str | None, name: str) -> str:
    """How a message names an element: "user task 'Approve change' (approve_change)"."""
    label = kind_label(tag)
    name = clean(name)
    if name and element_id and name != element_id:
        return f"{label} '{name}' ({element_id})"
    return f"{label} {element_id or name or '(no id)'}"
