"""Article Markdown: what an upload may contain, and its rendering to sanitised HTML.

Two layers, on purpose. `inspect` tells an editor, before anything is published, every construct
that is refused (script, iframe and other active tags, event-handler attributes, links that are not
absolute http(s) URLs), so the upload is rejected with reasons instead of silently altered. `render`
then turns the Markdown into HTML with a real CommonMark parser (markdown-it-py) and passes the
result through a real allow-list sanitiser (nh3, the Rust ammonia library): whatever `inspect`
might miss, no script, event handler, iframe or non-http(s) URL reaches a client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

ALLOWED_SCHEMES = frozenset({"http", "https"})
ALLOWED_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "ins",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "abbr": {"title"},
}
# tags whose presence in raw HTML is refused outright (they run code, load documents or take input)
ACTIVE_TAGS = frozenset(
    {
        "script",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "style",
        "link",
        "meta",
        "base",
        "form",
        "input",
        "button",
        "textarea",
        "select",
        "svg",
        "math",
        "template",
        "noscript",
    }
)
_TAG = re.compile(r"<\s*/?\s*([A-Za-z][A-Za-z0-9:-]*)")
_EVENT_HANDLER = re.compile(r"[\s\"'/]on[a-z]+\s*=", re.IGNORECASE)
_URL_ATTR = re.compile(
    r"\b(?:href|src|action|formaction|xlink:href|data|poster|background|srcset)\s*=\s*"
    r"(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'>]+))",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.\-]*)\s*:")
_ENTITY = re.compile(r"&#(x[0-9a-f]+|\d+);?|&(colon|tab|newline);", re.IGNORECASE)
_NAMED = {"colon": ":", "tab": "\t", "newline": "\n"}
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_SCRIPT_SCHEME = re.compile(r"(?:java|vb|live)script\s*:|data\s*:\s*text/html", re.IGNORECASE)


def _decode_entities(text: str) -> str:
    def one(match: re.Match) -> str:
        if match.group(2):
            return _NAMED[match.group(2).lower()]
        code = match.group(1)
        try:
            value = int(code[1:], 16) if code[0] in "xX" else int(code)
            return chr(value) if 0 < value < 0x110000 else ""
        except ValueError:
            return ""

    return _ENTITY.sub(one, text)


def url_problem(url: str) -> str | None:
    """Why a link or image URL is refused, or None when it is an absolute http(s) URL."""
    plain = _CONTROL.sub("", _decode_entities(url))
    match = _SCHEME.match(plain)
    if match is None:
        return f"link {_shorten(url)} is not an absolute http(s) URL"
    scheme = match.group(1).lower()
    if scheme not in ALLOWED_SCHEMES:
        return f"link {_shorten(url)} uses the {scheme}: scheme; only http and https are allowed"
    return None


def _shorten(text: str, limit: int = 60) -> str:
    text = text.replace("\n", " ")
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _parser(collect: list[str] | None = None) -> Any:
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])

    def validate(url: str) -> bool:
        problem = url_problem(url)
        if problem is not None and collect is not None:
            collect.append(problem)
        return problem is None

    md.validateLink = validate
    return md


def _walk(tokens: list) -> Iterator[Any]:
    for token in tokens:
        yield token
        if token.children:
            yield from _walk(token.children)


def _html_problems(html: str) -> list[str]:
    problems = []
    for tag in dict.fromkeys(m.group(1).lower() for m in _TAG.finditer(html)):
        if tag in ACTIVE_TAGS:
            problems.append(f"HTML <{tag}> is not allowed")
    if _EVENT_HANDLER.search(html):
        problems.append("HTML event-handler attributes (onclick=, onerror=, ...) are not allowed")
    for match in _URL_ATTR.finditer(html):
        url = next(g for g in match.groups() if g is not None)
        problem = url_problem(url)
        if problem is not None:
            problems.append(problem)
    if _SCRIPT_SCHEME.search(_CONTROL.sub("", _decode_entities(html))) and not any(
        "scheme" in p for p in problems
    ):
        problems.append("script URLs (javascript:, vbscript:, data:text/html) are not allowed")
    return problems


def inspect(markdown: str) -> list[str]:
    """Every refused construct in `markdown`, as messages for the editor (empty: acceptable)."""
    return convert(markdown)[0]


def convert(markdown: str) -> tuple[list[str], str]:
    """One parse: (every refused construct, the sanitised HTML)."""
    link_problems: list[str] = []
    md = _parser(link_problems)
    env: dict = {}
    tokens = md.parse(markdown, env)
    problems = list(link_problems)
    for token in _walk(tokens):
        if token.type in ("html_block", "html_inline"):
            problems.extend(_html_problems(token.content))
        elif token.type in ("link_open", "image"):
            url = token.attrs.get("href") or token.attrs.get("src") or ""
            problem = url_problem(str(url))
            if problem is not None:
                problems.append(problem)
    return list(dict.fromkeys(problems)), sanitise(md.renderer.render(tokens, md.options, env))


@lru_cache(maxsize=1)
def _cleaner() -> Any:
    import nh3

    def only_absolute_http(tag: str, attribute: str, value: str) -> str | None:
        if attribute in ("href", "src") and url_problem(value) is not None:
            return None
        return value

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=only_absolute_http,
        url_schemes=set(ALLOWED_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )


def sanitise(html: str) -> str:
    """HTML reduced to the allow-list: no script, handler, iframe, style or non-http(s) URL survives."""
    return _cleaner().clean(html)


def render(markdown: str) -> str:
    """Markdown to sanitised HTML."""
    return sanitise(_parser().render(markdown))
