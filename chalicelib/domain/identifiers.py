"""Identifier formats of content (edition and article ids, scopes, sections), cheap to import.

The API layer validates with these at import time, so they live apart from `domain/content.py`
(the whole upload checker) to keep Lambda cold starts small.
"""

from __future__ import annotations

import re

SECTIONS = ("current_affairs", "theory", "social_topics", "basics", "history", "discussion", "professional")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
SCOPE_PATTERN = r"^(central|[0-9]{6})$"
_ID = re.compile(ID_PATTERN)
_SCOPE = re.compile(SCOPE_PATTERN)


def valid_scope(scope: str) -> bool:
    """`central` or a six-digit division code."""
    return bool(_SCOPE.match(scope))


def valid_id(value: str) -> bool:
    """An edition, article or post id: letters, digits, `.`, `_`, `-`, at most 64."""
    return bool(_ID.match(value))
