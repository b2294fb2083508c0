"""Process models as data: lint findings, the canonical meaning of a model, version diffs.

Pure functions over a ``ProcessSource`` (lxml, no engine, no database), for the designer,
the deploy check and the command line.
"""

from itsm.modeling.diff import DecisionChange, ElementChange, ElementRef, ModelDiff, diff_sources
from itsm.modeling.lint import LintFinding, lint_model
from itsm.modeling.semantics import semantic_summary

__all__ = [
    "DecisionChange",
    "ElementChange",
    "ElementRef",
    "LintFinding",
    "ModelDiff",
    "diff_sources",
    "lint_model",
    "semantic_summary",
]
