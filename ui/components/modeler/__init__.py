"""The browser editors for process models: bpmn-js and dmn-js as Streamlit (v1) components.

The JavaScript lives in ``frontend/`` (an npm project) and is built into ``dist/`` by
``make ui-assets`` (``npm ci && npm run build``); ``dist/`` is not in git. Without it the
editors show how to build it instead of failing the page.

Both editors send the model back only when the user presses their Save button (or Ctrl+S):
the value is ``{"event": "save", "xml": "...", "seq": n}``, where ``seq`` counts the saves of
this editor instance, so a page can tell a new save from the last one it already handled (a
component keeps returning its last value on every rerun). Passing the XML that was just
saved back in as ``xml`` does not reload the editor (no lost zoom or undo history); any other
``xml`` replaces the diagram.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypedDict

import streamlit as st
import streamlit.components.v1 as components

DIST = Path(__file__).with_name("dist")
BUILD_HINT = (
    "The diagram editor is not built: run `make ui-assets` (npm ci && npm run build in "
    "ui/components/modeler/frontend) and reload the page."
)


class LintMark(TypedDict):
    element_id: str
    message: str


class ElementFigures(TypedDict, total=False):
    count: int
    avg: str


def assets_built(mode: str = "bpmn") -> bool:
    return (DIST / mode / "index.html").is_file() and (DIST / mode / f"{mode}.js").is_file()


def _component(mode: str) -> Callable[..., Any]:
    # Declared on every use: the registration belongs to the running Streamlit runtime, and
    # declaring the same name and folder again is a no-op.
    return components.declare_component(f"itsm_{mode}_editor", path=str(DIST / mode))


def _value(raw: object) -> dict[str, Any] | None:
    return dict(raw) if isinstance(raw, Mapping) else None


def bpmn_modeler(
    xml: str,
    *,
    key: str,
    height: int = 700,
    lint: Iterable[LintMark] = (),
    overlays: Mapping[str, ElementFigures] | None = None,
    highlight: Iterable[str] = (),
    read_only: bool = False,
) -> dict[str, Any] | None:
    """The BPMN modeler (or, ``read_only``, a pan-and-zoom viewer) showing ``xml``.

    ``lint``: problems to mark on the diagram (red outline, a badge whose tooltip lists the
    messages). ``overlays``: figures per element, e.g. ``{"l1_triage": {"count": 4,
    "avg": "2.1 h"}}``. ``highlight``: element ids drawn in blue (a ticket's path).

    Returns the last value the editor sent, or None before the first: ``{"event": "save",
    "xml", "seq"}`` from the Save button; read-only, ``{"event": "click", "element_id",
    "seq"}`` when an element is clicked.
    """
    if not assets_built("bpmn"):
        st.error(BUILD_HINT)
        return None
    raw = _component("bpmn")(
        xml=xml,
        height=int(height),
        read_only=bool(read_only),
        lint=[{"element_id": m["element_id"], "message": m["message"]} for m in lint],
        overlays={element: dict(figures) for element, figures in (overlays or {}).items()},
        highlight=list(highlight),
        key=key,
        default=None,
    )
    return _value(raw)


def dmn_editor(xml: str, *, key: str, height: int = 500) -> dict[str, Any] | None:
    """The DMN editor (decision tables; the DRD when the file has one) showing ``xml``.

    Returns the last ``{"event": "save", "xml", "seq"}`` the Save button sent, or None.
    """
    if not assets_built("dmn"):
        st.error(BUILD_HINT)
        return None
    raw = _component("dmn")(xml=xml, height=int(height), key=key, default=None)
    return _value(raw)
