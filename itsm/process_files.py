"""Reading a deployable process from files: the BPMN, the DMN beside it, its forms and its
scenario file."""

from __future__ import annotations

import json
from pathlib import Path

from lxml import etree

from itsm.domain.errors import InvalidProcess
from itsm.services.ports import ProcessSource

_FORM_PROPERTY = "formJsonSchemaFilename"


def _referenced_forms(bpmn_xml: bytes) -> set[str]:
    try:
        root = etree.fromstring(bpmn_xml, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as err:
        raise InvalidProcess(f"the file is not well-formed XML: {err}") from err
    return {
        element.get("value", "")
        for element in root.iter("{*}property")
        if element.get("name") == _FORM_PROPERTY and element.get("value")
    }


def read_process_source(bpmn_path: Path) -> ProcessSource:
    """The BPMN file, every .dmn in its folder and the forms it names from ``forms/``."""
    if not bpmn_path.is_file():
        raise InvalidProcess(f"{bpmn_path} does not exist")
    raw = bpmn_path.read_bytes()
    forms: dict[str, dict[str, object]] = {}
    for name in sorted(_referenced_forms(raw)):
        form_path = bpmn_path.parent / "forms" / name
        if not form_path.is_file():
            raise InvalidProcess(f"form {name} named by the model is missing at {form_path}")
        try:
            forms[name] = json.loads(form_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise InvalidProcess(f"form {name} is not valid JSON: {err}") from err
    dmn = {
        path.name: path.read_text(encoding="utf-8")
        for path in sorted(bpmn_path.parent.glob("*.dmn"))
    }
    return ProcessSource(bpmn_xml=raw.decode("utf-8"), dmn_xml=dmn, forms=forms)


def scenarios_path(bpmn_path: Path) -> Path:
    """Where a model's scenario file lives: ``<model>.scenarios.json`` beside the BPMN."""
    return bpmn_path.with_name(f"{bpmn_path.stem}.scenarios.json")


def read_scenarios(bpmn_path: Path) -> str | None:
    """The text of the model's scenario file (``scenarios_path``); None when it has none."""
    path = scenarios_path(bpmn_path)
    return path.read_text(encoding="utf-8") if path.is_file() else None
