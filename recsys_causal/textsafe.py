"""Text shown to people, made visible: C0/C1 control characters, bidirectional overrides and isolates, and
zero-width characters become U+FFFD, so a data-derived string can neither hide part of itself nor reorder the
text around it on a page or in a figure. Line breaks and tabs are kept (the page or figure lays them out).

>>> visible_text("abc\\u202edcba\\u200b!\\x1b")
'abc\\ufffddcba\\ufffd!\\ufffd'
"""

from __future__ import annotations

import re

HIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")


def visible_text(text: str) -> str:
    """``text`` with hidden and direction-changing characters replaced by U+FFFD (the type is kept, so a
    Jinja ``Markup`` stays markup)."""
    if not HIDDEN.search(text):
        return text
    return type(text)(HIDDEN.sub("\ufffd", str(text)))
