"""Text from senders shown as typed inside Streamlit Markdown.

Streamlit renders ``st.markdown`` (and ``st.write`` of a string) as Markdown with its own
directives (``:red[...]``, ``:material/...:``, LaTeX between ``$``). A subject such as
``![x](/auth/logout)`` would become an image request, ``[sign in](https://evil)`` a link that
looks like ours. HTML is already escaped by Streamlit; this closes the Markdown half.
"""

from __future__ import annotations

import re

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$=^&\"'])")


def literal(text: object) -> str:
    """``text`` with every Markdown-significant character backslash-escaped and line breaks
    kept as line breaks (CommonMark lets any ASCII punctuation be escaped this way)."""
    escaped = _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))
    return "  \n".join(escaped.splitlines())


def code(text: object) -> str:
    """An id as inline code (where Markdown is not parsed). Neither a backtick nor a blank
    line in it may end the code span, so whitespace runs become one space."""
    return "`" + " ".join(str(text).replace("`", "'").split()) + "`"
