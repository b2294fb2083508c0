"""The BPMN 2.0 attribute defaults: an attribute at its default means what its absence means.

Editors differ in whether they write them (bpmn-js leaves ``cancelActivity="true"`` out, a
hand-written file may spell it out), so the canonical form drops them. The table is the
``default=`` attributes of the OMG schema (Semantic.xsd and BPMN20.xsd, as SpiffWorkflow
ships them), flattened along the type hierarchy per element; tests/unit/test_model_diff.py
checks it against those files.
"""

from __future__ import annotations

from collections.abc import Mapping

_ACTIVITY = {"isForCompensation": "false", "startQuantity": "1", "completionQuantity": "1"}
_SUBPROCESS = {**_ACTIVITY, "triggeredByEvent": "false"}
_UNSPECIFIED_TASK = {**_ACTIVITY, "implementation": "##unspecified"}
_WEB_SERVICE_TASK = {**_ACTIVITY, "implementation": "##WebService"}
_GATEWAY = {"gatewayDirection": "Unspecified"}
_CATCH_EVENT = {"parallelMultiple": "false"}
_CHOREOGRAPHY_ACTIVITY = {"loopType": "None"}
_CLOSED = {"isClosed": "false"}
_COLLECTION = {"isCollection": "false"}
_PLAIN_TEXT = {"textFormat": "text/plain"}

XSD_DEFAULTS: Mapping[str, Mapping[str, str]] = {
    # activities
    "activity": _ACTIVITY,
    "task": _ACTIVITY,
    "manualTask": _ACTIVITY,
    "scriptTask": _ACTIVITY,
    "callActivity": _ACTIVITY,
    "userTask": _UNSPECIFIED_TASK,
    "businessRuleTask": _UNSPECIFIED_TASK,
    "serviceTask": _WEB_SERVICE_TASK,
    "sendTask": _WEB_SERVICE_TASK,
    "receiveTask": {**_WEB_SERVICE_TASK, "instantiate": "false"},
    "subProcess": _SUBPROCESS,
    "adHocSubProcess": {**_SUBPROCESS, "cancelRemainingInstances": "true"},
    "transaction": {**_SUBPROCESS, "method": "##Compensate"},
    "multiInstanceLoopCharacteristics": {"isSequential": "false", "behavior": "All"},
    "standardLoopCharacteristics": {"testBefore": "false"},
    "globalUserTask": {"implementation": "##unspecified"},
    "globalBusinessRuleTask": {"implementation": "##unspecified"},
    # events
    "catchEvent": _CATCH_EVENT,
    "intermediateCatchEvent": _CATCH_EVENT,
    "startEvent": {**_CATCH_EVENT, "isInterrupting": "true"},
    "boundaryEvent": {**_CATCH_EVENT, "cancelActivity": "true"},
    # gateways
    "gateway": _GATEWAY,
    "exclusiveGateway": _GATEWAY,
    "inclusiveGateway": _GATEWAY,
    "parallelGateway": _GATEWAY,
    "complexGateway": _GATEWAY,
    "eventBasedGateway": {**_GATEWAY, "instantiate": "false", "eventGatewayType": "Exclusive"},
    # processes, collaborations, choreographies
    "definitions": {
        "expressionLanguage": "http://www.w3.org/1999/XPath",
        "typeLanguage": "http://www.w3.org/2001/XMLSchema",
    },
    "process": {**_CLOSED, "processType": "None"},
    "collaboration": _CLOSED,
    "choreography": _CLOSED,
    "globalChoreographyTask": _CLOSED,
    "globalConversation": _CLOSED,
    "choreographyActivity": _CHOREOGRAPHY_ACTIVITY,
    "choreographyTask": _CHOREOGRAPHY_ACTIVITY,
    "callChoreography": _CHOREOGRAPHY_ACTIVITY,
    "subChoreography": _CHOREOGRAPHY_ACTIVITY,
    "participantMultiplicity": {"minimum": "0", "maximum": "1"},
    # data and artifacts
    "dataInput": _COLLECTION,
    "dataOutput": _COLLECTION,
    "dataObject": _COLLECTION,
    "itemDefinition": {**_COLLECTION, "itemKind": "Information"},
    "dataStore": {"isUnlimited": "true"},
    "association": {"associationDirection": "None"},
    "documentation": _PLAIN_TEXT,
    "textAnnotation": _PLAIN_TEXT,
    "extension": {"mustUnderstand": "false"},
}
"""BPMN element (local name) → attribute → its default, as the schema writes it."""

_BOOLEANS = {"true": "true", "1": "true", "false": "false", "0": "false"}


def at_default(element: str, attribute: str, value: str) -> bool:
    """Whether a BPMN element's unqualified attribute has its schema default: ``"1"`` and
    ``"true"`` are the same ``xsd:boolean``, ``" 1 "`` the same ``xsd:integer``."""
    default = XSD_DEFAULTS.get(element, {}).get(attribute)
    return default is not None and _normal(value, default) == default


def _normal(value: str, default: str) -> str:
    value = value.strip()
    if default in ("true", "false"):
        return _BOOLEANS.get(value, value)
    if default.isdigit() and value.lstrip("+-").isdigit():
        return str(int(value))
    return value
