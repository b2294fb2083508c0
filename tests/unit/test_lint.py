"""The model check: one broken model per rule, our lifecycle clean, foreign models no crash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from itsm.clock import ManualClock
from itsm.engine.runner import SpiffProcessEngine
from itsm.modeling import LintFinding, lint_model
from itsm.process_files import read_process_source
from itsm.services.ports import ProcessSource
from itsm.settings import PROJECT_ROOT

OPERATIONS = frozenset({"notify", "close_ticket"})
FORMS = {"answer.schema.json": {"type": "object", "properties": {}}}
DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dd" name="d"
  namespace="http://x">
  <decision id="pick" name="Pick">
    <decisionTable id="t" hitPolicy="UNIQUE">
      <input id="i" label="A"><inputExpression id="ie" typeRef="string"><text>a</text>
      </inputExpression></input>
      <output id="o" name="b" typeRef="string" />
      <rule id="r1"><inputEntry id="r1i"><text>"x"</text></inputEntry>
        <outputEntry id="r1o"><text>"y"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""


def flow(flow_id: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def user_task(task_id: str, name: str, *, form: str | None = "answer.schema.json") -> str:
    props = '<spiffworkflow:property name="candidate_group" value="L1"/>'
    if form is not None:
        props += f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>'
    return (
        f'<bpmn:userTask id="{task_id}" name="{name}"><bpmn:extensionElements>'
        f"<spiffworkflow:properties>{props}</spiffworkflow:properties>"
        "</bpmn:extensionElements></bpmn:userTask>"
    )


def model(body: str, *, dmn: bool = False, executable: str = "true") -> ProcessSource:
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'id="defs" targetNamespace="http://bpmn.io/schema/bpmn">'
        f'<bpmn:process id="probe" name="Probe" isExecutable="{executable}">{body}'
        "</bpmn:process></bpmn:definitions>"
    )
    return ProcessSource(xml, {"pick.dmn": DMN} if dmn else {}, FORMS)


START_TO_ANSWER = '<bpmn:startEvent id="start"/>' + flow("f_start", "start", "answer")
ANSWER_TO_END = '<bpmn:endEvent id="end"/>' + flow("f_end", "answer", "end")


def around(middle: str) -> ProcessSource:
    """start → Answer (a user task) → end, plus ``middle``."""
    return model(START_TO_ANSWER + user_task("answer", "Answer") + ANSWER_TO_END + middle)


def rules(source: ProcessSource) -> list[tuple[str, str | None]]:
    return [(f.rule, f.element_id) for f in lint_model(source, OPERATIONS)]


def test_a_small_sound_model_is_clean() -> None:
    assert lint_model(around(""), OPERATIONS) == []


def test_the_bundled_lifecycle_is_clean() -> None:
    source = read_process_source(PROJECT_ROOT / "bpmn" / "ticket_lifecycle.bpmn")
    from tasks import service_functions

    assert lint_model(source, frozenset(service_functions())) == []


def test_not_well_formed_xml() -> None:
    [finding] = lint_model(ProcessSource("<bpmn:definitions><oops"), OPERATIONS)
    assert finding.rule == "xml-syntax" and "not well-formed" in finding.message


def test_a_user_task_without_a_form_is_named_in_the_finding() -> None:
    source = model(
        START_TO_ANSWER + user_task("answer", "Approve change", form=None) + ANSWER_TO_END
    )
    [finding] = lint_model(source, OPERATIONS)
    assert finding == LintFinding(
        "task-form",
        "answer",
        "Approve change",
        "user task 'Approve change' (answer) has no form (spiffworkflow property "
        "formJsonSchemaFilename)",
    )


def test_a_user_task_whose_form_is_not_in_the_source() -> None:
    source = model(START_TO_ANSWER + user_task("answer", "A", form="gone.json") + ANSWER_TO_END)
    [finding] = lint_model(source, OPERATIONS)
    assert finding.rule == "task-form" and "'gone.json'" in finding.message


def test_a_manual_task_without_a_candidate_group_or_lane() -> None:
    manual = (
        '<bpmn:manualTask id="answer" name="Look"><bpmn:extensionElements>'
        "<spiffworkflow:properties>"
        '<spiffworkflow:property name="formJsonSchemaFilename" value="answer.schema.json"/>'
        "</spiffworkflow:properties></bpmn:extensionElements></bpmn:manualTask>"
    )
    assert rules(model(START_TO_ANSWER + manual + ANSWER_TO_END)) == [
        ("task-candidate-group", "answer")
    ]
    in_lane = (
        '<bpmn:laneSet id="ls"><bpmn:lane id="lane" name="L1">'
        "<bpmn:flowNodeRef>answer</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>"
    )
    assert rules(model(in_lane + START_TO_ANSWER + manual + ANSWER_TO_END)) == []


def service_task(operator: str) -> str:
    return (
        f'<bpmn:serviceTask id="call" name="Call"><bpmn:extensionElements>{operator}'
        "</bpmn:extensionElements></bpmn:serviceTask>"
        + flow("f1", "answer", "call")
        + flow("f2", "call", "end")
    )


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("", "names no function to call"),
        ('<spiffworkflow:serviceTaskOperator id="bamboohr/GetPayRate"/>', "'bamboohr/GetPayRate'"),
    ],
)
def test_a_service_task_must_call_a_registered_function(operator: str, expected: str) -> None:
    [finding] = lint_model(around(service_task(operator)), OPERATIONS)
    assert finding.rule == "service-task-operation" and expected in finding.message
    registered = '<spiffworkflow:serviceTaskOperator id="notify"/>'
    assert rules(around(service_task(registered))) == []


@pytest.mark.parametrize(
    ("decision", "expected"),
    [("", "names no decision"), ("elsewhere", "'elsewhere', which no DMN file")],
)
def test_a_business_rule_task_must_call_a_decision_of_the_model(
    decision: str, expected: str
) -> None:
    task = (
        '<bpmn:businessRuleTask id="rules" name="Decide"><bpmn:extensionElements>'
        f"<spiffworkflow:calledDecisionId>{decision}</spiffworkflow:calledDecisionId>"
        "</bpmn:extensionElements></bpmn:businessRuleTask>"
    )
    body = task + flow("f1", "answer", "rules") + flow("f2", "rules", "end")
    [finding] = lint_model(model_with_dmn(body), OPERATIONS)
    assert finding.rule == "business-rule-decision" and expected in finding.message
    assert rules(model_with_dmn(body.replace(f">{decision}<", ">pick<"))) == []


def model_with_dmn(middle: str) -> ProcessSource:
    return model(START_TO_ANSWER + user_task("answer", "A") + ANSWER_TO_END + middle, dmn=True)


def gateway(default: str = "") -> str:
    attribute = f' default="{default}"' if default else ""
    return f'<bpmn:exclusiveGateway id="gw" name="Which way?"{attribute}/>'


def test_an_exclusive_gateway_needs_a_default_or_a_condition_on_every_flow() -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        + flow("f0", "start", "gw")
        + gateway()
        + '<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>'
        + flow("to_a", "gw", "a", "x == 1")
        + flow("to_b", "gw", "b")
    )
    [finding] = lint_model(model(body), OPERATIONS)
    assert finding.rule == "gateway-default" and "sequence flow to_b" in finding.message
    assert rules(model(body.replace(gateway(), gateway("to_b")))) == []
    conditioned = body.replace(flow("to_b", "gw", "b"), flow("to_b", "gw", "b", "x != 1"))
    assert rules(model(conditioned)) == []
    wrong_default = body.replace(gateway(), gateway("f0"))
    assert rules(model(wrong_default)) == [("gateway-default", "gw")]


def test_an_inclusive_gateway_too() -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        + flow("f0", "start", "gw")
        + '<bpmn:inclusiveGateway id="gw"/><bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>'
        + flow("to_a", "gw", "a")
        + flow("to_b", "gw", "b")
    )
    assert rules(model(body)) == [("gateway-default", "gw")]


def test_a_condition_that_is_not_python() -> None:
    body = (
        '<bpmn:startEvent id="start"/>'
        + flow("f0", "start", "gw")
        + gateway("to_b")
        + '<bpmn:endEvent id="a"/><bpmn:endEvent id="b"/>'
        + flow("to_a", "gw", "a", "${approved}")
        + flow("to_b", "gw", "b")
    )
    [finding] = lint_model(model(body), OPERATIONS)
    assert finding.rule == "condition-syntax" and finding.element_id == "to_a"
    assert "${approved}" in finding.message


def test_a_timer_expression_that_is_not_python() -> None:
    timer = (
        '<bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:timerEventDefinition>'
        "<bpmn:timeDuration>PT5M</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )
    body = '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>'
    body += timer + flow("f1", "start", "wait") + flow("f2", "wait", "end")
    [finding] = lint_model(model(body), OPERATIONS)
    assert finding.rule == "timer-syntax" and "needs quotes" in finding.message
    assert rules(model(body.replace("PT5M", "'PT5M'"))) == []
    assert rules(model(body.replace("PT5M", "wait_for"))) == []  # a variable holding it
    assert rules(model(body.replace("PT5M", "2026-10-05T09:00"))) == [("timer-syntax", "wait")]


def test_a_script_that_does_not_compile() -> None:
    script = '<bpmn:scriptTask id="calc" name="Calc"><bpmn:script>x = = 1</bpmn:script>'
    body = '<bpmn:startEvent id="start"/><bpmn:endEvent id="end"/>' + script
    body += "</bpmn:scriptTask>" + flow("f1", "start", "calc") + flow("f2", "calc", "end")
    assert rules(model(body)) == [("script-syntax", "calc")]


def test_an_unconnected_element_is_caught_although_the_engine_drops_it() -> None:
    source = around('<bpmn:task id="forgotten" name="Forgotten step"/>')
    [finding] = lint_model(source, OPERATIONS)
    assert finding.rule == "unconnected" and finding.element_name == "Forgotten step"
    engine = SpiffProcessEngine(ManualClock(datetime(2026, 1, 1, tzinfo=UTC)))
    engine.inspect(source)  # SpiffWorkflow accepts it and silently leaves it out


def test_an_element_only_reachable_from_itself_is_unreachable() -> None:
    loop = (
        '<bpmn:task id="island" name="Island"/>'
        '<bpmn:exclusiveGateway id="island_gw" default="back"/>'
        + flow("to_gw", "island", "island_gw")
        + flow("back", "island_gw", "island")
    )
    found = rules(around(loop))
    assert ("unreachable", "island") in found and ("unreachable", "island_gw") in found


def test_a_dead_end() -> None:
    assert rules(
        around('<bpmn:task id="stuck" name="Stuck"/>' + flow("f9", "answer", "stuck"))
    ) == [("dead-end", "stuck")]


def test_boundary_events_and_event_subprocesses_need_no_incoming_flow() -> None:
    extra = (
        '<bpmn:boundaryEvent id="late" attachedToRef="answer">'
        "<bpmn:timerEventDefinition><bpmn:timeDuration>'PT1H'</bpmn:timeDuration>"
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:endEvent id="late_end"/>' + flow("f_late", "late", "late_end") + ""
        '<bpmn:subProcess id="on_message" triggeredByEvent="true">'
        '<bpmn:startEvent id="message_start"><bpmn:messageEventDefinition/></bpmn:startEvent>'
        '<bpmn:endEvent id="message_end"/>'
        + flow("f_message", "message_start", "message_end")
        + "</bpmn:subProcess>"
    )
    assert rules(around(extra)) == []
    dangling = extra.replace(flow("f_late", "late", "late_end"), "")
    assert ("dead-end", "late") in rules(around(dangling))


def test_a_flow_to_nowhere_and_a_subprocess_without_start() -> None:
    body = around(flow("f_bad", "answer", "ghost"))
    assert ("flow-reference", "f_bad") in rules(body)
    sub = '<bpmn:subProcess id="sub"><bpmn:task id="inner"/></bpmn:subProcess>'
    found = rules(around(sub + flow("f1", "answer", "sub") + flow("f2", "sub", "end")))
    assert ("no-start-event", "sub") in found


def test_duplicate_ids_and_broken_dmn() -> None:
    source = around('<bpmn:task id="answer" name="Twin"/>')
    assert ("duplicate-id", "answer") in rules(source)
    broken = ProcessSource(around("").bpmn_xml, {"bad.dmn": "<definitions"}, FORMS)
    assert rules(broken) == [("dmn-syntax", None)]


def test_a_process_without_start_event() -> None:
    body = '<bpmn:task id="a" name="A"/><bpmn:endEvent id="end"/>' + flow("f", "a", "end")
    assert ("no-start-event", "probe") in rules(model(body))
    assert ("no-start-event", "probe") not in rules(model(body, executable="false"))


def external_models() -> list[Path]:
    from tests.conftest import EXTERNAL_DIR

    return sorted((EXTERNAL_DIR / "bpmn").rglob("*.bpmn"))


@pytest.mark.parametrize("path", external_models(), ids=lambda p: p.name)
def test_foreign_models_lint_without_crashing(path: Path, external: Path) -> None:
    dmn = {each.name: each.read_text(encoding="utf-8") for each in path.parent.glob("*.dmn")}
    source = ProcessSource(path.read_text(encoding="utf-8"), dmn)
    findings = lint_model(source, OPERATIONS)
    assert all(isinstance(f, LintFinding) and f.rule and f.message for f in findings)
    assert all("\n" not in f.message for f in findings)
