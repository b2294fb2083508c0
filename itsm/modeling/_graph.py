"""A process as the XML draws it: flow nodes, sequence flows, lanes and what contains what.

Built from the XML rather than from the engine's parsed spec on purpose: SpiffWorkflow drops
elements that no sequence flow reaches, so a mistake the modeller most needs to hear about
would be invisible there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from itsm.modeling._xml import (
    BPMN,
    FLOW_NODES,
    SUBPROCESSES,
    describe,
    elements,
    flag,
    is_bpmn,
    local,
    text_of,
)


@dataclass(frozen=True)
class Node:
    id: str
    tag: str
    name: str
    element: etree._Element
    scope: str
    """The process or subprocess whose direct child the node is."""

    @property
    def label(self) -> str:
        return describe(self.tag, self.id, self.name)

    def has_event(self, kind: str) -> bool:
        return self.element.find(f"{{{BPMN}}}{kind}EventDefinition") is not None

    @property
    def triggered_by_event(self) -> bool:
        return flag(self.element, "triggeredByEvent")

    @property
    def for_compensation(self) -> bool:
        return flag(self.element, "isForCompensation")


@dataclass(frozen=True)
class Flow:
    id: str
    name: str
    source: str
    target: str
    condition: str | None
    element: etree._Element
    scope: str

    @property
    def label(self) -> str:
        return describe("sequenceFlow", self.id, self.name)


@dataclass
class ProcessGraph:
    process_id: str
    name: str
    executable: bool
    element: etree._Element
    nodes: dict[str, Node] = field(default_factory=dict)
    flows: dict[str, Flow] = field(default_factory=dict)
    lanes: dict[str, str] = field(default_factory=dict)
    """Flow node id → name of the lane it sits in."""

    def outgoing(self, node_id: str) -> list[Flow]:
        return [flow for flow in self.flows.values() if flow.source == node_id]

    def incoming(self, node_id: str) -> list[Flow]:
        return [flow for flow in self.flows.values() if flow.target == node_id]

    def children(self, scope_id: str) -> list[Node]:
        return [node for node in self.nodes.values() if node.scope == scope_id]

    def scope_node(self, scope_id: str) -> Node | None:
        """The subprocess a scope is (None for the process itself)."""
        return self.nodes.get(scope_id) if scope_id != self.process_id else None


def process_graphs(root: etree._Element) -> list[ProcessGraph]:
    graphs = []
    for process in root.iter(f"{{{BPMN}}}process"):
        graph = ProcessGraph(
            process_id=process.get("id", ""),
            name=process.get("name", ""),
            executable=flag(process, "isExecutable"),
            element=process,
        )
        _collect(graph, process, graph.process_id)
        for lane in process.iter(f"{{{BPMN}}}lane"):
            lane_name = lane.get("name") or lane.get("id", "")
            for ref in lane.findall(f"{{{BPMN}}}flowNodeRef"):
                graph.lanes.setdefault(text_of(ref), lane_name)
        graphs.append(graph)
    return graphs


def _collect(graph: ProcessGraph, scope: etree._Element, scope_id: str) -> None:
    for child in elements(scope):
        if not is_bpmn(child):
            continue
        tag = local(child)
        if tag in FLOW_NODES:
            node_id = child.get("id", "")
            graph.nodes[node_id] = Node(node_id, tag, child.get("name", ""), child, scope_id)
            if tag in SUBPROCESSES:
                _collect(graph, child, node_id)
        elif tag == "sequenceFlow":
            condition = child.find(f"{{{BPMN}}}conditionExpression")
            flow_id = child.get("id", "")
            graph.flows[flow_id] = Flow(
                id=flow_id,
                name=child.get("name", ""),
                source=child.get("sourceRef", ""),
                target=child.get("targetRef", ""),
                condition=None if condition is None else (text_of(condition) or None),
                element=child,
                scope=scope_id,
            )


def ancestors(graph: ProcessGraph, node: Node) -> Iterator[Node]:
    """The subprocesses around a node, innermost first."""
    scope = graph.scope_node(node.scope)
    while scope is not None:
        yield scope
        scope = graph.scope_node(scope.scope)
