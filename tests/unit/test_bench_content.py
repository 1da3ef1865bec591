"""The content bench holds the feed to the issue's goal and names the first page's extra read."""

from __future__ import annotations

import io
from collections import Counter

from rich.console import Console

from bench import content


def calls(**ops: int) -> Counter:
    return Counter({("dynamodb", op): n for op, n in ops.items()})


def result(rows) -> content.ContentResult:
    return content.ContentResult(list(rows.values()), 1.0, [1.0], Counter(), [1.0], 1, 1.0)


def test_every_feed_page_is_held_to_the_number_of_scopes():
    rows = content.new_rows()
    feed = {name: row for name, row in rows.items() if name.startswith("feed page")}
    assert len(feed) == 6  # page 1 cold and warm, page 3, at 100 and at 10,000 editions
    assert {row.target for row in feed.values()} == {len(content.SCOPES)} == {4}
    assert [name for name, row in feed.items() if row.deviation] == [
        "feed page 1, 100 editions",
        "feed page 1, 10,000 editions",
    ]  # the warm first page and later pages get no allowance


def test_the_first_page_member_read_is_a_documented_deviation_not_a_pass_or_a_new_target():
    rows = content.new_rows()
    first, later = rows["feed page 1, 100 editions"], rows["feed page 3, 100 editions"]
    for row in rows.values():
        row.ms.append(1.0)
        row.calls.append(calls(GetItem=1))
    first.calls[:] = [calls(Query=4, GetItem=1)]
    later.calls[:] = [calls(Query=4)]
    assert first.passed() and first.deviates() and "member's item" in first.deviation
    assert later.passed() and not later.deviates()
    out = Console(file=io.StringIO(), width=200, color_system=None)
    content.report(out, result(rows))
    content.summary(out, result(rows))
    text = out.file.getvalue()
    assert "DEVIATION from the issue's goal (feed page 1, 100 editions: 5 DynamoDB calls, goal ≤ 4" in text
    assert "content targets met, with a documented deviation" in text
    # one more call than the deviation explains, or any call over on a later page, fails
    first.calls[:] = [calls(Query=4, GetItem=2)]
    later.calls[:] = [calls(Query=5)]
    assert first.passed() is False and later.passed() is False
    assert result(rows).failed() == ["feed page 1, 100 editions", "feed page 3, 100 editions"]
