"""Bulletin editions: the upload key, the file's schema and limits, and the feed's order.

An editor uploads one JSON file to `bulletins/{scope}/{edition_id}.json`. `parse_edition` checks the
whole file and returns either an `EditionDraft` or every problem found (never only the first), so
the rejection file tells the editor all there is to fix. Nothing here touches AWS.

The feed is ordered by a sort key per entry: urgent editions get an extra entry in the `U` tier
(sorted above every `N` entry) that is shown while it is younger than seven days; every edition
has an `N` entry, hidden while its `U` entry is shown. `merge_feed` merges one descending Query per
scope into a page and a position from which the next page continues.

When an edition is pinned is kept as its *pins*: the intervals `[since, until)` in which it was
urgent (seven days from becoming urgent, cut short by a correction to weekly), on the edition and on
each of its entries. Whether an entry shows is a question about one instant; a walk through the feed
asks it at the instant the walk began (carried in the cursor). Corrections only add intervals that
begin later or end intervals later than that instant, so every page of a walk gets the same
answers: each edition shows once, in the tier and place it had when the walk began.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib.domain import markdown
from chalicelib.domain.identifiers import ID_PATTERN, SCOPE_PATTERN, SECTIONS, valid_id, valid_scope  # noqa: F401

KINDS = ("weekly", "urgent")
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_ARTICLE_BYTES = 100 * 1024
MAX_ARTICLES = 50
MAX_LINKS = 20
MAX_TITLE_CHARS = 200
MAX_URL_CHARS = 2048
MAX_PROBLEMS = 200
# after rendering: one article item, and the whole edition in one transaction, must fit DynamoDB
MAX_STORED_ARTICLE_BYTES = 350 * 1024
MAX_STORED_EDITION_BYTES = 3_800 * 1024
URGENT_WINDOW = timedelta(days=7)

_KEY = re.compile(r"^bulletins/([^/]+)/([^/]+)\.json$")
_WEEK = re.compile(r"^([0-9]{4})-W([0-9]{2})$")

EDITION_FIELDS = {"edition_id", "kind", "title", "week", "articles", "scope"}
ARTICLE_FIELDS = {"article_id", "section", "title", "body_markdown", "links"}
LINK_FIELDS = {"title", "url"}


# ---- keys and scopes ------------------------------------------------------------------------------


def upload_key(scope: str, edition_id: str) -> str:
    """Where an edition's file is uploaded."""
    return f"bulletins/{scope}/{edition_id}.json"


def rejection_key(key: str) -> str:
    """Where the problems of a refused upload are written."""
    return f"rejections/{key}.json"


def scope_org_id(scope: str) -> str:
    """The department a scope names: `central`, or the department of a division code."""
    from chalicelib.domain.divisions import CENTRAL_ORG_ID, org_id_for

    return CENTRAL_ORG_ID if scope == "central" else org_id_for(scope)


def parse_key(key: str) -> tuple[str, str] | None:
    """(scope, edition_id) of an upload key, or None when the key is not one an editor can get."""
    match = _KEY.match(key)
    if not match or not valid_scope(match.group(1)) or not valid_id(match.group(2)):
        return None
    return match.group(1), match.group(2)


# ---- the file -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class ArticleDraft:
    article_id: str
    section: str
    title: str
    body_markdown: str
    links: tuple[Link, ...] = ()
    position: int = 0
    html: str = ""  # the sanitised rendering, made while checking the Markdown


@dataclass(frozen=True)
class EditionDraft:
    edition_id: str
    scope: str
    kind: str
    title: str
    week: str | None
    articles: tuple[ArticleDraft, ...]

    @property
    def sections(self) -> list[str]:
        return [s for s in SECTIONS if any(a.section == s for a in self.articles)]


@dataclass
class Problems:
    """Problems found in an upload, as `{"field", "message"}` entries (capped, so a file stays small)."""

    items: list[dict] = field(default_factory=list)
    dropped: int = 0

    def add(self, field_: str, message: str) -> None:
        if len(self.items) < MAX_PROBLEMS:
            self.items.append({"field": field_, "message": message})
        else:
            self.dropped += 1

    def __bool__(self) -> bool:
        return bool(self.items)

    def as_list(self) -> list[dict]:
        if self.dropped:
            return [*self.items, {"field": "", "message": f"{self.dropped} more problems not listed"}]
        return list(self.items)


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    seen: dict = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_file(raw: bytes, problems: Problems) -> Any:
    """The file's JSON value, or None with the reason added to `problems`."""
    if len(raw) > MAX_FILE_BYTES:
        problems.add("", f"the file is {len(raw)} bytes; at most {MAX_FILE_BYTES} bytes (2 MB) are allowed")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        problems.add("", f"the file is not UTF-8 text (invalid byte at offset {exc.start})")
        return None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        problems.add("", "the file is empty")
        return None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constants)
    except _DuplicateKey as exc:
        problems.add("", f"the JSON repeats the key {exc.args[0]!r} in one object")
    except RecursionError:
        problems.add("", "the JSON is nested too deeply")
    except ValueError as exc:
        problems.add("", f"the file is not valid JSON: {exc}")
    return None


def _text(value: Any, where: str, problems: Problems, *, max_chars: int, required: bool = True) -> str | None:
    if value is None:
        if required:
            problems.add(where, "is required")
        return None
    if not isinstance(value, str):
        problems.add(where, f"must be a string, not {_json_type(value)}")
        return None
    stripped = value.strip()
    if not stripped:
        problems.add(where, "must not be empty")
        return None
    if len(stripped) > max_chars:
        problems.add(where, f"is {len(stripped)} characters; at most {max_chars}")
        return None
    return stripped


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


def _unknown(obj: dict, allowed: set[str], where: str, problems: Problems) -> None:
    for key in obj:
        if key not in allowed:
            problems.add(f"{where}{'.' if where else ''}{key}", "is not a known field")


def _check_week(week: str, problems: Problems) -> str | None:
    match = _WEEK.match(week)
    if match:
        try:
            date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
            return week
        except ValueError:
            pass
    problems.add("week", f"{week!r} is not an ISO week such as 2026-W48")
    return None


def _check_links(value: Any, where: str, problems: Problems) -> tuple[Link, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        problems.add(where, f"must be an array, not {_json_type(value)}")
        return ()
    if len(value) > MAX_LINKS:
        problems.add(where, f"has {len(value)} links; at most {MAX_LINKS}")
    links = []
    for j, link in enumerate(value[:MAX_LINKS]):
        at = f"{where}[{j}]"
        if not isinstance(link, dict):
            problems.add(at, f"must be an object, not {_json_type(link)}")
            continue
        _unknown(link, LINK_FIELDS, at, problems)
        title = _text(link.get("title"), f"{at}.title", problems, max_chars=MAX_TITLE_CHARS)
        url = _text(link.get("url"), f"{at}.url", problems, max_chars=MAX_URL_CHARS)
        if url is not None:
            problem = markdown.url_problem(url)
            if problem is not None:
                problems.add(f"{at}.url", problem)
                url = None
        if title is not None and url is not None:
            links.append(Link(title, url))
    return tuple(links)


def _check_article(value: Any, i: int, problems: Problems) -> ArticleDraft | None:
    at = f"articles[{i}]"
    if not isinstance(value, dict):
        problems.add(at, f"must be an object, not {_json_type(value)}")
        return None
    before = len(problems.items)
    _unknown(value, ARTICLE_FIELDS, at, problems)
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_ARTICLE_BYTES:
        problems.add(at, f"is {size} bytes; at most {MAX_ARTICLE_BYTES} bytes (100 KB) per article")
    article_id = _text(value.get("article_id"), f"{at}.article_id", problems, max_chars=64)
    if article_id is not None and not valid_id(article_id):
        problems.add(
            f"{at}.article_id", "must be 1-64 letters, digits, '.', '_' or '-', starting alphanumeric"
        )
    section = value.get("section")
    if section is None:
        problems.add(f"{at}.section", "is required")
    elif section not in SECTIONS:
        problems.add(f"{at}.section", f"{str(section)[:40]!r} is not a section; one of {', '.join(SECTIONS)}")
    title = _text(value.get("title"), f"{at}.title", problems, max_chars=MAX_TITLE_CHARS)
    body = value.get("body_markdown")
    html = ""
    if body is None:
        problems.add(f"{at}.body_markdown", "is required")
    elif not isinstance(body, str):
        problems.add(f"{at}.body_markdown", f"must be a string, not {_json_type(body)}")
    elif not body.strip():
        problems.add(f"{at}.body_markdown", "must not be empty")
    elif size <= MAX_ARTICLE_BYTES:
        found, html = markdown.convert(body)
        for message in found:
            problems.add(f"{at}.body_markdown", message)
    links = _check_links(value.get("links"), f"{at}.links", problems)
    if len(problems.items) > before:
        return None
    return ArticleDraft(article_id, section, title, body, links, i, html)


def parse_edition(raw: bytes, key_scope: str, key_edition_id: str) -> tuple[EditionDraft | None, list[dict]]:
    """Check a whole uploaded file against its key: (the edition, []) or (None, every problem)."""
    problems = Problems()
    doc = decode_file(raw, problems)
    if problems:
        return None, problems.as_list()
    if not isinstance(doc, dict):
        problems.add("", f"the file must hold a JSON object, not {_json_type(doc)}")
        return None, problems.as_list()
    _unknown(doc, EDITION_FIELDS, "", problems)
    edition_id = doc.get("edition_id")
    if edition_id is None:
        problems.add("edition_id", "is required")
    elif not isinstance(edition_id, str) or not valid_id(edition_id):
        problems.add("edition_id", "must be 1-64 letters, digits, '.', '_' or '-', starting alphanumeric")
    elif edition_id != key_edition_id:
        problems.add(
            "edition_id",
            f"the file is edition {edition_id!r} but was uploaded as {key_edition_id!r}: "
            f"use the upload URL issued for this edition",
        )
    scope = doc.get("scope")
    if scope is not None and scope != key_scope:
        problems.add(
            "scope", f"the file is for scope {str(scope)[:20]!r} but was uploaded under scope {key_scope!r}"
        )
    kind = doc.get("kind")
    if kind is None:
        problems.add("kind", "is required")
    elif kind not in KINDS:
        problems.add("kind", f"must be one of {', '.join(KINDS)}")
    title = _text(doc.get("title"), "title", problems, max_chars=MAX_TITLE_CHARS)
    week = doc.get("week")
    if week is not None and not isinstance(week, str):
        problems.add("week", "must be a string such as 2026-W48")
        week = None
    elif week is not None:
        week = _check_week(week, problems)
    articles_raw = doc.get("articles")
    articles: list[ArticleDraft] = []
    if articles_raw is None:
        problems.add("articles", "is required")
    elif not isinstance(articles_raw, list):
        problems.add("articles", f"must be an array, not {_json_type(articles_raw)}")
    elif not articles_raw:
        problems.add("articles", "must hold at least one article")
    else:
        if len(articles_raw) > MAX_ARTICLES:
            problems.add("articles", f"has {len(articles_raw)} articles; at most {MAX_ARTICLES}")
        seen: dict[str, int] = {}
        for i, value in enumerate(articles_raw):
            article = _check_article(value, i, problems)
            article_id = value.get("article_id") if isinstance(value, dict) else None
            if isinstance(article_id, str) and article_id.strip():
                article_id = article_id.strip()
                if article_id in seen:
                    problems.add(
                        f"articles[{i}].article_id",
                        f"{article_id!r} is used by articles[{seen[article_id]}] too; article ids are unique",
                    )
                    article = None
                else:
                    seen[article_id] = i
            if article is not None:
                articles.append(article)
    if problems:
        return None, problems.as_list()
    return EditionDraft(key_edition_id, key_scope, kind, title, week, tuple(articles)), []


# ---- rendered sizes -------------------------------------------------------------------------------


def stored_size_problems(sizes: list[int], total: int) -> list[dict]:
    """Problems when rendered articles are too large to store (one item, one transaction)."""
    problems = Problems()
    for i, size in enumerate(sizes):
        if size > MAX_STORED_ARTICLE_BYTES:
            problems.add(
                f"articles[{i}]", f"renders to {size} bytes; at most {MAX_STORED_ARTICLE_BYTES} can be stored"
            )
    if total > MAX_STORED_EDITION_BYTES:
        problems.add(
            "", f"the edition renders to {total} bytes; at most {MAX_STORED_EDITION_BYTES} in one edition"
        )
    return problems.as_list()


# ---- the feed -------------------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    """Times in sort keys and answers: UTC, microseconds, fixed width, so text order is time order."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


PINS_KEPT = 10  # urgent intervals remembered per edition (each correction weekly <-> urgent adds one)

Pin = tuple[str, str]  # (since, until): pinned at t when since <= t < until (ISO times as `iso` writes)


def pin_until(since: str) -> str:
    """When an urgent edition stops being pinned unless corrected before."""
    return iso(datetime.fromisoformat(since) + URGENT_WINDOW)


def pin_at(pins: tuple[Pin, ...], moment: str) -> str | None:
    """The start of the interval of `pins` holding `moment`, or None when not pinned then."""
    for since, until in pins:
        if since <= moment < until:
            return since
    return None


def next_urgency(
    kind: str, previous_since: str | None, previous_pins: tuple[Pin, ...], now: str
) -> tuple[str | None, tuple[Pin, ...]]:
    """(urgent_since, pins) after publishing a revision of `kind` at `now`.

    Urgent over urgent keeps its start (a correction neither re-pins nor pushes again); urgent over
    weekly (or first publication) starts a new interval of seven days; weekly over urgent ends the
    current interval at `now`. Intervals already over stay, so that walks begun in them still see it.
    """
    pins = tuple(previous_pins)
    if kind == "urgent":
        if previous_since:
            return previous_since, pins
        return now, (*pins, (now, pin_until(now)))[-PINS_KEPT:]
    if previous_since:
        pins = tuple((s, min(u, now)) if s == previous_since else (s, u) for s, u in pins)
    return None, pins


def normal_sort_key(first_published_at: str, edition_id: str) -> str:
    return f"N#{first_published_at}#{edition_id}"


def urgent_sort_key(urgent_since: str, edition_id: str) -> str:
    return f"U#{urgent_since}#{edition_id}"


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a scope's feed partition."""

    sort: str
    edition_id: str
    scope: str
    kind: str
    title: str
    week: str | None
    published_at: str
    updated_at: str
    revision: int
    article_count: int
    sections: tuple[str, ...]
    urgent_since: str | None = None  # a U entry: the start of its interval; an N entry: the edition's
    pins: tuple[Pin, ...] = ()  # the edition's urgent intervals (older entries: none stored)

    @property
    def tier(self) -> str:
        return self.sort[:1]

    @property
    def intervals(self) -> tuple[Pin, ...]:
        if self.pins or self.urgent_since is None:
            return self.pins
        return ((self.urgent_since, pin_until(self.urgent_since)),)

    def pinned(self, now: datetime) -> bool:
        """Is this edition shown in the urgent tier at `now`?"""
        return pin_at(self.intervals, iso(now)) is not None

    def visible(self, now: datetime) -> bool:
        """Each edition shows once at `now`: the U entry of the interval holding `now`, else its N
        entry; editions first published after `now` not at all (a walk begun then never saw them)."""
        moment = iso(now)
        if self.published_at > moment:
            return False
        since = pin_at(self.intervals, moment)
        if self.tier == "U":
            return since is not None and since == self.urgent_since
        return since is None

    def public(self, now: datetime) -> dict:
        return {
            "edition_id": self.edition_id,
            "scope": self.scope,
            "kind": self.kind,
            "title": self.title,
            "week": self.week,
            "published_at": self.published_at,
            "updated_at": self.updated_at,
            "revision": self.revision,
            "article_count": self.article_count,
            "sections": list(self.sections),
            "pinned": self.tier == "U",
        }


@dataclass(frozen=True)
class ScopeRead:
    """What one Query of a scope returned: entries below the position, newest first, and whether more."""

    entries: list[FeedEntry]
    more: bool


WALK_GRAIN = timedelta(minutes=1)
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def walk_instant(reads: dict[str, ScopeRead], now: datetime) -> datetime:
    """The instant a walk through the feed that begins `now` judges every page at.

    Not `now` itself, so that the first page and its cursor stay the same (ETag, 304) while nothing
    changes: the latest moment at or before `now` at which anything read for the first page changed
    (an edition published, an urgency begun or ended), or the start of the current minute if later.
    Judging the entries read at that instant is judging them at `now` (none changed in between);
    entries further down, read by later pages, are judged at most a minute behind `now`.
    """
    moment = iso(now)
    points = [
        point
        for read in reads.values()
        for entry in read.entries
        for point in (entry.published_at, *(t for pin in entry.intervals for t in pin))
        if point <= moment
    ]
    grain = _EPOCH + (now - _EPOCH) // WALK_GRAIN * WALK_GRAIN
    return datetime.fromisoformat(max([iso(grain), *points]))


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry]
    after: str | None  # the position the next page continues below; None when the feed is finished
    done: frozenset[str]  # scopes with nothing left below `after`


def merge_feed(reads: dict[str, ScopeRead], limit: int, now: datetime, done: frozenset[str]) -> FeedPage:
    """Merge per-scope reads into one page.

    Only entries at or above the boundary (the lowest entry read of any scope that has more) are
    certain to be in order; below it another scope may hold entries not read yet. So the page is
    the visible entries above the boundary, at most `limit`, and the next page continues below the
    last one emitted, or below the boundary when fewer were visible: every page makes progress.
    """
    bounds = [r.entries[-1].sort for r in reads.values() if r.more and r.entries]
    boundary = max(bounds) if bounds else None
    candidates = sorted(
        {
            e.sort: e for r in reads.values() for e in r.entries if boundary is None or e.sort >= boundary
        }.values(),
        key=lambda e: e.sort,
        reverse=True,
    )
    visible = [e for e in candidates if e.visible(now)]
    page = visible[:limit]
    if len(visible) > limit:
        after: str | None = page[-1].sort
    else:
        after = boundary
    finished = set(done)
    if after is not None:
        for scope, read in reads.items():
            if not read.more and (not read.entries or read.entries[-1].sort >= after):
                finished.add(scope)
    return FeedPage(page, after, frozenset(finished))


def feed_scopes(
    home_path: tuple[str, ...], attached_path: tuple[str, ...], supervisor_paths: list[tuple[str, ...]]
) -> list[str]:
    """The departments whose editions a member sees: central and every department above their branches.

    Paths end with the branch itself (home, attached, each virtual branch); everything above it is a
    department. Central always comes first.
    """
    from chalicelib.domain.divisions import CENTRAL_ORG_ID

    scopes = [CENTRAL_ORG_ID]
    for path in (home_path, attached_path, *supervisor_paths):
        scopes.extend(path[:-1])
    return list(dict.fromkeys(s for s in scopes if s))


def org_scope(org_id: str) -> str:
    """The upload scope of a department: `central` or its division code."""
    return org_id.removeprefix("div-")


# ---- what is published ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EditionState:
    """The published edition as ingest and readers see it."""

    edition_id: str
    scope: str
    org_id: str
    kind: str
    title: str
    week: str | None
    revision: int
    first_published_at: str
    published_at: str
    urgent_since: str | None
    articles: tuple[dict, ...]  # {"article_id", "section", "title"} in the file's order
    sections: tuple[str, ...]
    source_version: str
    announced_revision: int = 0
    history: tuple[dict, ...] = ()
    pending_drops: tuple[str, ...] = ()  # dropped by a correction, not yet deleted
    pins: tuple[Pin, ...] = ()  # the urgent intervals, see `next_urgency`

    @property
    def article_ids(self) -> list[str]:
        return [a["article_id"] for a in self.articles]

    def drops_after(self, article_ids: list[str]) -> tuple[str, ...]:
        """What publishing `article_ids` over this edition leaves to delete: the articles it drops
        and those an earlier correction dropped but could not delete, unless published again."""
        return tuple(sorted((set(self.article_ids) | set(self.pending_drops)) - set(article_ids)))

    @property
    def became_urgent_now(self) -> bool:
        """Did this revision make the edition urgent (first publication as urgent, or a correction to it)?"""
        return self.kind == "urgent" and self.urgent_since == self.published_at

    def public(self) -> dict:
        return {
            "edition_id": self.edition_id,
            "scope": self.scope,
            "org_id": self.org_id,
            "kind": self.kind,
            "title": self.title,
            "week": self.week,
            "revision": self.revision,
            "published_at": self.first_published_at,
            "updated_at": self.published_at,
            "sections": list(self.sections),
            "articles": [dict(a, position=i) for i, a in enumerate(self.articles)],
        }

    def event_detail(self) -> dict:
        """The `BulletinPublished` event's detail."""
        return {
            "edition_id": self.edition_id,
            "scope": self.scope,
            "org_id": self.org_id,
            "kind": self.kind,
            "title": self.title,
            "revision": self.revision,
            "published_at": self.first_published_at,
            "updated_at": self.published_at,
            "article_count": len(self.articles),
            "correction": self.revision > 1,
            "newly_urgent": self.became_urgent_now,
        }


@dataclass(frozen=True)
class PublishedArticle:
    article_id: str
    edition_id: str
    scope: str
    org_path: tuple[str, ...]
    revision: int
    position: int
    section: str
    title: str
    edition_title: str
    kind: str
    links: tuple[dict, ...]
    body_markdown: str
    body_html: str
    published_at: str
    updated_at: str

    def public(self) -> dict:
        return {
            "article_id": self.article_id,
            "edition_id": self.edition_id,
            "edition_title": self.edition_title,
            "scope": self.scope,
            "kind": self.kind,
            "section": self.section,
            "position": self.position,
            "title": self.title,
            "body_html": self.body_html,
            "body_markdown": self.body_markdown,
            "links": [dict(link) for link in self.links],
            "revision": self.revision,
            "published_at": self.published_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True)
class RenderedArticle:
    """An article ready to store: its draft, the sanitised HTML and both bodies compressed."""

    draft: ArticleDraft
    html: str
    markdown_z: bytes
    html_z: bytes

    @property
    def stored_bytes(self) -> int:
        links = sum(len(link.title) + len(link.url) for link in self.draft.links)
        return len(self.markdown_z) + len(self.html_z) + len(self.draft.title.encode()) + links + 1024


def render_article(draft: ArticleDraft) -> RenderedArticle:
    """Render one article's Markdown to sanitised HTML and compress both bodies for storage."""
    import zlib

    html = draft.html or markdown.render(draft.body_markdown)
    return RenderedArticle(
        draft=draft,
        html=html,
        markdown_z=zlib.compress(draft.body_markdown.encode(), 6),
        html_z=zlib.compress(html.encode(), 6),
    )
