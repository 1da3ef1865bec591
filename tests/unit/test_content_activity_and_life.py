"""Client activity events and organisational-life rules: pure rules, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import activity, life

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def ev(**over):
    out = {"event_id": "e-1", "type": "article_open", "target": "a-1", "at": "2026-11-25T15:30:00+08:00"}
    out.update(over)
    return out


def test_a_good_event_is_accepted_in_utc():
    event, reason = activity.check_event(ev(), NOW)
    assert reason is None and event.at == datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    assert activity.check_event(ev(type="section_open", target="history", at="2026-11-25T07:00:00Z"), NOW)[0]


@pytest.mark.parametrize(
    ("event", "word"),
    [
        ("x", "object"),
        (ev(extra=1), "unknown field"),
        (ev(event_id=""), "event_id"),
        (ev(event_id="a" * 65), "event_id"),
        (ev(event_id=5), "event_id"),
        (ev(type="login"), "type"),
        (ev(target=None), "target"),
        (ev(type="section_open", target="sports"), "section"),
        (ev(target="a b"), "article id"),
        (ev(at="yesterday"), "ISO 8601"),
        (ev(at="2026-11-25T08:00:00"), "offset"),
        (ev(at=12345), "ISO 8601"),
        (ev(at=(NOW - timedelta(days=7, seconds=1)).isoformat()), "older than 7 days"),
        (ev(at=(NOW + timedelta(minutes=6)).isoformat()), "future"),
    ],
)
def test_a_bad_event_is_refused_with_its_reason(event, word):
    found, reason = activity.check_event(event, NOW)
    assert found is None and word in reason


def test_a_little_clock_drift_is_still_now():
    assert activity.check_event(ev(at=(NOW + timedelta(minutes=4)).isoformat()), NOW)[0] is not None


def test_ids_sort_by_time():
    ids = [life.new_id("r", ms) for ms in (1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000)]
    assert ids == sorted(ids) and all(len(i) == 22 for i in ids)


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("王小明", "王**"), ("", "*"), ("Anna Li", "A**")]
)
def test_authors_are_masked(name, masked):
    assert life.mask_name(name) == masked


def test_staff_of_the_department_or_above_moderate():
    path = ("central", "div-110000", "div-110100", "div-110105", "br-1")
    assert life.may_moderate({"staff@div-110105"}, path)
    assert life.may_moderate({"staff@central"}, path)
    assert life.may_moderate({"staff@br-1"}, path)
    assert not life.may_moderate({"staff@div-110108"}, path)
    assert not life.may_moderate({"editor@div-110105", "secretary@br-1"}, path)
    assert not life.may_moderate(None, path)


def test_a_group_is_listed_under_the_department_above_the_founders_branch():
    assert life.group_directory(("central", "div-110000", "div-110100", "div-110105", "br-1")) == "div-110105"
    assert life.group_directory(("central", "br-central-office")) == "central"


def test_hidden_posts_show_their_reason_not_their_text():
    post = life.Post("article#a", "r-1", "n1", "张*", "text", "t", status="hidden", hidden_reason="离题")
    assert post.public("n2") == {
        "id": "r-1",
        "author_name": "张*",
        "mine": False,
        "body": None,
        "created_at": "t",
        "status": "hidden",
        "hidden_reason": "离题",
    }


def test_the_activity_rate_window_is_the_clock_hour_and_says_when_it_ends():
    at = datetime(2026, 11, 30, 15, 59, 30, tzinfo=UTC)
    window = activity.rate_window(at)
    assert window.retry_after == 30
    assert window.key == str(int(datetime(2026, 11, 30, 15, tzinfo=UTC).timestamp()))
    assert activity.rate_window(datetime(2026, 11, 30, 16, 0, 0, tzinfo=UTC)).key != window.key
    assert window.expires_at > at.timestamp() + 30
