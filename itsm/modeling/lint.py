"""Checking a process model for mistakes the engine would accept or only hit at run time.

Each rule is a small function over the XML (not the engine's parsed spec, which silently
drops unconnected elements) yielding findings with a stable ``rule`` code, so the designer
can show them next to the element and tests can ask for one rule. Pure: no database, no
engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from lxml import etree

from itsm.modeling._graph import Flow, Node, ProcessGraph, ancestors, process_graphs
from itsm.modeling._xml import (
    BPMN,
    SPIFF,
    SUBPROCESSES,
    TIMER_PARTS,
    clean,
    describe,
    parse_xml,
    text_of,
)
from itsm.services.ports import ProcessSource

HUMAN_TASKS = frozenset({"userTask", "manualTask"})
CHOICE_GATEWAYS = frozenset({"exclusiveGateway", "inclusiveGateway"})
_BARE_DURATION = re.compile(r"(R\d*/)?P(?=[^/]*\d)[0-9YMWDTHS.]+")
"""``PT5M`` or ``R3/PT10M`` written without quotes: valid Python, but a variable lookup."""


@dataclass(frozen=True)
class LintFinding:
    rule: str
    element_id: str | None
    element_name: str
    message: str


@dataclass(frozen=True)
class _Model:
    source: ProcessSource
    root: etree._Element
    graphs: list[ProcessGraph]
    operations: frozenset[str]
    decisions: frozenset[str]


Rule = Callable[[_Model], Iterable[LintFinding]]


def lint_model(source: ProcessSource, registered_operations: frozenset[str]) -> list[LintFinding]:
    """Every finding of every rule, rule by rule, in document order within a rule."""
    try:
        root = parse_xml(source.bpmn_xml)
    except etree.XMLSyntaxError as err:
        return [LintFinding("xml-syntax", None, "", f"the file is not well-formed XML: {err}")]
    findings: list[LintFinding] = []
    decisions: set[str] = set()
    for file_name, dmn_xml in sorted(source.dmn_xml.items()):
        try:
            dmn = parse_xml(dmn_xml)
        except etree.XMLSyntaxError as err:
            message = f"decision file {file_name} is not well-formed XML: {err}"
            findings.append(LintFinding("dmn-syntax", None, file_name, message))
            continue
        decisions.update(d.get("id", "") for d in dmn.iter("{*}decision"))
    model = _Model(source, root, process_graphs(root), registered_operations, frozenset(decisions))
    for rule in RULES:
        findings.extend(rule(model))
    return findings


def _finding(rule: str, node: Node | Flow, message: str) -> LintFinding:
    name = clean(node.name) or node.id
    return LintFinding(rule, node.id or None, name, f"{node.label} {message}")


def _nodes(model: _Model, *tags: str) -> Iterator[tuple[ProcessGraph, Node]]:
    for graph in model.graphs:
        for node in graph.nodes.values():
            if not tags or node.tag in tags:
                yield graph, node


def _extension(node: Node, tag: str) -> etree._Element | None:
    return node.element.find(f"{{{BPMN}}}extensionElements/{{{SPIFF}}}{tag}")


def properties_of(node: Node) -> dict[str, str]:
    found = _extension(node, "properties")
    if found is None:
        return {}
    return {
        prop.get("name", ""): prop.get("value", "")
        for prop in found.findall(f"{{{SPIFF}}}property")
    }


# --- the rules ----------------------------------------------------------------------------


def duplicate_ids(model: _Model) -> Iterator[LintFinding]:
    seen: dict[str, str] = {}
    for element in model.root.iter(f"{{{BPMN}}}*"):
        element_id = element.get("id")
        if not element_id:
            continue
        if element_id in seen:
            message = f"the id '{element_id}' is used more than once: ids must be unique"
            yield LintFinding("duplicate-id", element_id, clean(element.get("name", "")), message)
        seen[element_id] = element.get("name", "")


def human_task_forms(model: _Model) -> Iterator[LintFinding]:
    for _, node in _nodes(model, *HUMAN_TASKS):
        form = properties_of(node).get("formJsonSchemaFilename", "").strip()
        if not form:
            yield _finding(
                "task-form",
                node,
                "has no form (spiffworkflow property formJsonSchemaFilename)",
            )
        elif form not in model.source.forms:
            yield _finding(
                "task-form",
                node,
                f"uses form '{form}', which is not part of the model's forms",
            )


def human_task_groups(model: _Model) -> Iterator[LintFinding]:
    for graph, node in _nodes(model, *HUMAN_TASKS):
        group = properties_of(node).get("candidate_group", "").strip()
        if not group and node.id not in graph.lanes:
            yield _finding(
                "task-candidate-group",
                node,
                "has no candidate group: put it in a lane or give it a candidate_group property",
            )


def service_task_operations(model: _Model) -> Iterator[LintFinding]:
    for _, node in _nodes(model, "serviceTask"):
        operator = _extension(node, "serviceTaskOperator")
        operation = "" if operator is None else operator.get("id", "").strip()
        if not operation:
            yield _finding(
                "service-task-operation",
                node,
                "names no function to call (spiffworkflow:serviceTaskOperator id)",
            )
        elif operation not in model.operations:
            yield _finding(
                "service-task-operation",
                node,
                f"calls '{operation}', which is not a registered service-task function",
            )


def business_rule_decisions(model: _Model) -> Iterator[LintFinding]:
    known = ", ".join(sorted(model.decisions)) or "none"
    for _, node in _nodes(model, "businessRuleTask"):
        decision = text_of(_extension(node, "calledDecisionId"))
        if not decision:
            yield _finding(
                "business-rule-decision",
                node,
                "names no decision (spiffworkflow:calledDecisionId)",
            )
        elif decision not in model.decisions:
            yield _finding(
                "business-rule-decision",
                node,
                f"calls decision '{decision}', which no DMN file of the model defines "
                f"(defined: {known})",
            )


def gateway_defaults(model: _Model) -> Iterator[LintFinding]:
    for graph, node in _nodes(model, *CHOICE_GATEWAYS):
        outgoing = graph.outgoing(node.id)
        default = node.element.get("default")
        if default and default not in {flow.id for flow in outgoing}:
            yield _finding(
                "gateway-default",
                node,
                f"names '{default}' as its default flow, but that flow does not leave it",
            )
            continue
        if len(outgoing) < 2 or default:
            continue
        bare = [flow.label for flow in outgoing if flow.condition is None]
        if bare:
            yield _finding(
                "gateway-default",
                node,
                f"has {len(outgoing)} outgoing flows, no default flow, and no condition on "
                f"{', '.join(bare)}: mark one flow as the default or give each a condition",
            )


def condition_syntax(model: _Model) -> Iterator[LintFinding]:
    for graph in model.graphs:
        for flow in graph.flows.values():
            if flow.condition is None:
                continue
            problem = _python_error(flow.condition, "eval")
            if problem:
                yield _finding(
                    "condition-syntax",
                    flow,
                    f"has a condition that is not a Python expression ({problem}): "
                    f"{clean(flow.condition)[:120]}",
                )


def timer_syntax(model: _Model) -> Iterator[LintFinding]:
    for _, node in _nodes(model):
        timer = node.element.find(f"{{{BPMN}}}timerEventDefinition")
        if timer is None:
            continue
        for part in TIMER_PARTS:
            expression = text_of(timer.find(f"{{{BPMN}}}{part}"))
            problem = _python_error(expression, "eval") if expression else None
            if expression and _BARE_DURATION.fullmatch(expression):
                problem = "an unquoted ISO 8601 duration reads as a variable name"
            if problem:
                yield _finding(
                    "timer-syntax",
                    node,
                    f"has a {part} that is not a Python expression ({problem}): "
                    f"{clean(expression)[:120]} (a fixed ISO 8601 value needs quotes)",
                )


def script_syntax(model: _Model) -> Iterator[LintFinding]:
    for _, node in _nodes(model):
        scripts = []
        if node.tag == "scriptTask":
            scripts.append(("script", text_of(node.element.find(f"{{{BPMN}}}script"))))
        for kind in ("preScript", "postScript"):
            scripts.append((kind, text_of(_extension(node, kind))))
        for kind, script in scripts:
            problem = _python_error(script, "exec") if script else None
            if problem:
                yield _finding(
                    "script-syntax", node, f"has a {kind} that does not compile: {problem}"
                )


def flow_references(model: _Model) -> Iterator[LintFinding]:
    for graph in model.graphs:
        for flow in graph.flows.values():
            for end, ref in (("source", flow.source), ("target", flow.target)):
                node = graph.nodes.get(ref)
                if node is None:
                    yield _finding(
                        "flow-reference",
                        flow,
                        f"has {end} '{ref}', which is not a flow node of process "
                        f"{graph.process_id}",
                    )
                elif node.scope != flow.scope:
                    yield _finding(
                        "flow-reference",
                        flow,
                        f"crosses a subprocess border ({end} {node.label}): sequence flows "
                        "stay inside one process or subprocess",
                    )


def start_events(model: _Model) -> Iterator[LintFinding]:
    for graph in model.graphs:
        if not graph.executable:
            continue
        if not _starts(graph, graph.process_id):
            yield LintFinding(
                "no-start-event",
                graph.process_id,
                clean(graph.name) or graph.process_id,
                f"{describe('process', graph.process_id, graph.name)} has no start event",
            )
        for node in graph.nodes.values():
            inner = node.tag in SUBPROCESSES and node.tag != "adHocSubProcess"
            if inner and not _starts(graph, node.id):
                yield _finding("no-start-event", node, "has no start event")


def unconnected(model: _Model) -> Iterator[LintFinding]:
    for graph, node in _nodes(model):
        if _is_unconnected(graph, node):
            yield _finding(
                "unconnected",
                node,
                "is not connected to any sequence flow: the engine would silently leave it out",
            )


def unreachable(model: _Model) -> Iterator[LintFinding]:
    for graph in model.graphs:
        reached = reachable(graph)
        for node in graph.nodes.values():
            if node.id in reached or _is_unconnected(graph, node):
                continue
            if any(outer.id not in reached for outer in ancestors(graph, node)):
                continue  # the outermost unreachable subprocess is the finding
            yield _finding("unreachable", node, "cannot be reached from a start event")


def dead_ends(model: _Model) -> Iterator[LintFinding]:
    for graph, node in _nodes(model):
        if node.tag == "endEvent" or graph.outgoing(node.id) or _is_unconnected(graph, node):
            continue
        if _ends_by_design(graph, node):
            continue
        yield _finding(
            "dead-end",
            node,
            "has no outgoing sequence flow: only an end event may end a path",
        )


RULES: tuple[Rule, ...] = (
    duplicate_ids,
    flow_references,
    start_events,
    unconnected,
    unreachable,
    dead_ends,
    gateway_defaults,
    condition_syntax,
    timer_syntax,
    script_syntax,
    human_task_forms,
    human_task_groups,
    service_task_operations,
    business_rule_decisions,
)


# --- graph helpers ------------------------------------------------------------------------


def _python_error(code: str, mode: str) -> str | None:
    try:
        compile(code, "<model>", mode)
    except SyntaxError as err:
        return f"{err.msg}, line {err.lineno}"
    except ValueError as err:  # e.g. a NUL character
        return str(err)
    return None


def _in_ad_hoc(graph: ProcessGraph, node: Node) -> bool:
    scope = graph.scope_node(node.scope)
    return scope is not None and scope.tag == "adHocSubProcess"


def _starts_itself(graph: ProcessGraph, node: Node) -> bool:
    """Elements no sequence flow needs to reach: attached, event-triggered or compensation."""
    return (
        node.tag == "boundaryEvent"
        or (node.tag in SUBPROCESSES and node.triggered_by_event)
        or node.for_compensation
        or _in_ad_hoc(graph, node)
    )


def _is_unconnected(graph: ProcessGraph, node: Node) -> bool:
    if _starts_itself(graph, node):
        return False
    return not graph.outgoing(node.id) and not graph.incoming(node.id)


def _ends_by_design(graph: ProcessGraph, node: Node) -> bool:
    return (
        (node.tag == "intermediateThrowEvent" and node.has_event("link"))
        or (node.tag == "boundaryEvent" and node.has_event("compensate"))
        or (node.tag in SUBPROCESSES and node.triggered_by_event)
        or node.for_compensation
        or _in_ad_hoc(graph, node)
    )


def _starts(graph: ProcessGraph, scope_id: str) -> list[Node]:
    return [node for node in graph.children(scope_id) if node.tag == "startEvent"]


def _entered(graph: ProcessGraph, scope_id: str) -> list[Node]:
    """What runs when a (sub)process starts: its start events (or, without any, the nodes
    nothing flows into, as BPMN says), event subprocesses and compensation handlers."""
    children = graph.children(scope_id)
    scope = graph.scope_node(scope_id)
    if scope is not None and scope.tag == "adHocSubProcess":
        return children
    starts = _starts(graph, scope_id) or [
        node
        for node in children
        if not graph.incoming(node.id) and node.tag not in ("boundaryEvent", "endEvent")
    ]
    itself = [node for node in children if _starts_itself(graph, node)]
    return starts + itself


def _link_name(node: Node) -> str | None:
    link = node.element.find(f"{{{BPMN}}}linkEventDefinition")
    return None if link is None else link.get("name", "")


def reachable(graph: ProcessGraph) -> set[str]:
    """Ids of the flow nodes some path from a start event reaches."""
    attached: dict[str, list[Node]] = {}
    catches: dict[tuple[str, str | None], list[Node]] = {}
    for node in graph.nodes.values():
        if node.tag == "boundaryEvent":
            attached.setdefault(node.element.get("attachedToRef", ""), []).append(node)
        if node.tag == "intermediateCatchEvent" and _link_name(node) is not None:
            catches.setdefault((node.scope, _link_name(node)), []).append(node)
    reached: set[str] = set()
    queue = [node for node in _entered(graph, graph.process_id) if node.tag != "boundaryEvent"]
    while queue:
        node = queue.pop()
        if node.id in reached:
            continue
        reached.add(node.id)
        queue.extend(
            graph.nodes[f.target] for f in graph.outgoing(node.id) if f.target in graph.nodes
        )
        queue.extend(attached.get(node.id, []))
        if node.tag in SUBPROCESSES:
            queue.extend(n for n in _entered(graph, node.id) if n.tag != "boundaryEvent")
        if node.tag == "intermediateThrowEvent" and _link_name(node) is not None:
            queue.extend(catches.get((node.scope, _link_name(node)), []))
    return reached
