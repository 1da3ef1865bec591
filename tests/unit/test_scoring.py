"""Scoring rules: Asia/Shanghai days, daily caps, one article once a day, redelivery, versions."""

from datetime import UTC, date, datetime

import pytest

from chalicelib.domain import scoring
from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.scoring import Activity, MonthTally, Rules, apply, default_rules

NUMBER = "110105202007010016"
NOW = 1_800_000_000
RULES = [default_rules()]


def rules_for(day):
    return scoring.rules_for_day(RULES, day)


def act(type_, at, n=None, target=None, number=NUMBER):
    n = n if n is not None else f"{type_}-{at}-{target}"
    return Activity(number, f"{at}#{n}", type_, scoring.parse_at(at), target)


def score(activities, tally=None, now=NOW):
    activities = list(activities)
    tally = tally or MonthTally(NUMBER, activities[0].month)
    return apply(tally, activities, rules_for, now)


def test_days_are_asia_shanghai_days_not_utc_days():
    # 23:59 and 00:01 Shanghai time on either side of midnight, written in UTC and in +08:00
    assert scoring.shanghai_day("2026-11-24T15:59:00+00:00") == date(2026, 11, 24)
    assert scoring.shanghai_day("2026-11-24T16:01:00+00:00") == date(2026, 11, 25)
    assert scoring.shanghai_day("2026-11-24T23:59:00+08:00") == date(2026, 11, 24)
    assert scoring.shanghai_day("2026-11-25T00:01:00+08:00") == date(2026, 11, 25)


def test_month_boundary_follows_shanghai_midnight():
    late = act("login", "2026-11-30T15:59:00+00:00")  # 23:59 on 30 November in Shanghai
    early = act("login", "2026-11-30T16:01:00+00:00")  # 00:01 on 1 December in Shanghai
    assert (late.month, early.month) == ("2026-11", "2026-12")


def test_a_login_counts_once_a_day_but_every_login_is_counted():
    tally, applied = score(
        [act("login", "2026-11-24T23:59:00+08:00", "a"), act("login", "2026-11-24T08:00:00+08:00", "b")]
    )
    assert applied == 2 and tally.points == 1 and tally.counts == {"login": 2}
    tally, _ = score([act("login", "2026-11-25T00:01:00+08:00", "c")], tally)
    assert tally.points == 2 and tally.active_days == 2


def test_article_opens_score_at_most_six_a_day_and_one_article_once_a_day():
    day = "2026-11-24T09:{:02d}:00+08:00"
    opens = [act("article_open", day.format(i), f"o{i}", target=f"art-{i}") for i in range(8)]
    opens += [act("article_open", day.format(30), "again", target="art-0")]
    tally, _ = score(opens)
    assert tally.points == 6 and tally.counts == {"article_open": 9}
    twice = [
        act("article_open", day.format(1), "x", target="same"),
        act("article_open", day.format(2), "y", target="same"),
    ]
    tally, _ = score(twice)
    assert tally.points == 1
    tally, _ = score([act("article_open", "2026-11-25T09:00:00+08:00", "z", target="same")], tally)
    assert tally.points == 2  # the same article on the next day counts again


def test_reflections_and_posts_have_their_own_caps_and_sections_score_nothing():
    day = "2026-11-24T10:{:02d}:00+08:00"
    items = [act("reflection", day.format(i), f"r{i}") for i in range(6)]
    items += [act("group_post", day.format(i), f"p{i}") for i in range(5)]
    items += [act("section_open", day.format(i), f"s{i}", target="theory") for i in range(3)]
    tally, _ = score(items)
    assert tally.points == 4 * 2 + 3
    assert tally.counts == {"group_post": 5, "reflection": 6, "section_open": 3}
    (only_day,) = tally.days.values()
    assert only_day.scored == {"group_post": 3, "reflection": 4}


def test_a_redelivered_activity_counts_once():
    first = act("reflection", "2026-11-24T10:00:00+08:00", "r1")
    tally, applied = score([first])
    again, applied_again = score([first, first], tally, now=NOW + 3600)
    assert (applied, applied_again) == (1, 0)
    assert again.points == 2 and again.counts == {"reflection": 1}


def test_digests_of_applied_activities_are_forgotten_after_the_window():
    tally, _ = score([act("login", "2026-11-24T10:00:00+08:00", "a")])
    later, _ = score([act("login", "2026-11-26T10:00:00+08:00", "b")], tally, now=NOW + 3 * 86400)
    assert len(later.recent) == 1  # the first digest is older than the redelivery window


def test_unknown_types_are_counted_without_points():
    tally, _ = score([act("poll_vote", "2026-11-24T10:00:00+08:00")])
    assert tally.points == 0 and tally.counts == {"poll_vote": 1} and tally.active_days == 1


def test_an_article_open_without_target_is_counted_but_not_scored():
    tally, _ = score([act("article_open", "2026-11-24T10:00:00+08:00")])
    assert tally.points == 0 and tally.counts == {"article_open": 1}


def test_rules_in_force_on_a_day_are_the_latest_effective_by_then():
    v2 = Rules.from_dict({**scoring.DEFAULT_RULES, "version": 2, "effective_from": "2026-12-01"})
    versions = [default_rules(), v2]
    assert scoring.rules_for_day(versions, date(2026, 11, 30)).version == 1
    assert scoring.rules_for_day(versions, date(2026, 12, 1)).version == 2


def test_a_day_keeps_the_version_it_was_scored_by():
    doubled = {
        **scoring.DEFAULT_RULES,
        "version": 2,
        "effective_from": "2026-12-01",
        "types": {"login": {"points": 5, "daily_cap": 1}},
    }
    versions = [default_rules(), Rules.from_dict(doubled)]
    tally = MonthTally(NUMBER, "2026-12")
    tally, _ = apply(
        tally, [act("login", "2026-12-01T08:00:00+08:00")], lambda d: scoring.rules_for_day(versions, d), NOW
    )
    assert tally.points == 5 and tally.days["2026-12-01"].version == 2


def test_invalid_rules_name_every_problem():
    with pytest.raises(ValidationFailed) as exc:
        Rules.from_dict(
            {
                "version": 0,
                "effective_from": "soon",
                "types": {
                    "Bad-Type": {"points": 1},
                    "login": {"points": -1},
                    "post": {"points": 1, "daily_cap": 0},
                },
            }
        )
    fields = {e["field"] for e in exc.value.errors}
    assert {
        "version",
        "effective_from",
        "types.Bad-Type",
        "types.login.points",
        "types.post.daily_cap",
    } <= fields


def test_default_rules_round_trip():
    rules = default_rules()
    assert Rules.from_dict(rules.to_dict()) == rules
    assert rules.types["article_open"].once_per_target


def test_malformed_images_are_refused():
    with pytest.raises(ValueError):
        scoring.activity_from_image({"registration_number": NUMBER, "activity_id": "x", "type": "login"})
    with pytest.raises(ValueError):
        scoring.activity_from_image(
            {"registration_number": NUMBER, "activity_id": "x", "type": "login", "at": "2026-11-24T10:00:00"}
        )
    ok = scoring.activity_from_image(
        {
            "registration_number": NUMBER,
            "activity_id": "x",
            "type": "login",
            "at": "2026-11-24T10:00:00+00:00",
        }
    )
    assert ok.month == "2026-11"


def test_month_helpers():
    assert scoring.previous_month(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)) == "2026-11"  # 1 Dec 00:30 CST
    assert scoring.previous_month(datetime(2026, 11, 30, 15, 59, tzinfo=UTC)) == "2026-10"
    assert scoring.previous_month(datetime(2027, 1, 1, 0, 30, tzinfo=UTC)) == "2026-12"
    assert scoring.month_bounds("2028-02") == (date(2028, 2, 1), date(2028, 2, 29))
    assert scoring.month_end("2026-11") == "2026-11-30T23:59:59+08:00"
    with pytest.raises(ValidationFailed):
        scoring.check_month("2026-13")
    now = datetime(2026, 11, 25, tzinfo=UTC)
    with pytest.raises(ValidationFailed):
        scoring.check_month("2026-12", now)
    with pytest.raises(ValidationFailed):
        scoring.check_month("2026-11", now, allow_current=False)
    assert scoring.check_month(None, now) == "2026-11"


def test_a_day_counts_at_most_its_cap_and_a_months_tally_stays_small_whatever_is_sent():
    import json

    # a script sending as much as it can: 1,000 activities on each of the 9 days within the window
    flood = [
        act(
            "section_open",
            f"2026-11-{day:02d}T10:{i // 60 % 60:02d}:{i % 60:02d}+08:00",
            f"{day}-{i}",
            "theory",
        )
        for day in range(16, 25)
        for i in range(1000)
    ]
    tally, applied = score(flood)
    assert applied == 9 * scoring.MAX_COUNTED_PER_DAY
    assert all(sum(d.counts.values()) == scoring.MAX_COUNTED_PER_DAY for d in tally.days.values())
    stored = json.dumps({k: d.to_dict() for k, d in tally.days.items()}) + json.dumps(tally.recent)
    assert len(stored.encode()) < 150_000  # DynamoDB's item limit is 400 KB
    # a dropped activity stays dropped when its record comes again
    again, applied_again = score(flood[-10:], tally, now=NOW + 60)
    assert applied_again == 0 and again.counts == tally.counts
