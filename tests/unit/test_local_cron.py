"""The local stack's EventBridge schedule evaluator: cron and rate expressions, in UTC."""

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.local.cron import Cron, Rate, ScheduleError, parse_schedule


def at(*args):
    return datetime(*args, tzinfo=UTC)


def firings(expression, start, count):
    schedule = parse_schedule(expression, anchor=start)
    out, moment = [], start
    for _ in range(count):
        moment = schedule.next_after(moment)
        out.append(moment)
    return out


def test_monthly_at_a_fixed_time_on_the_first():
    assert firings("cron(30 16 1 * ? *)", at(2026, 11, 25, 9, 0), 3) == [
        at(2026, 12, 1, 16, 30),
        at(2027, 1, 1, 16, 30),
        at(2027, 2, 1, 16, 30),
    ]


def test_next_is_strictly_after_the_given_moment():
    cron = Cron("cron(30 16 1 * ? *)")
    assert cron.next_after(at(2026, 12, 1, 16, 30)) == at(2027, 1, 1, 16, 30)
    assert cron.next_after(at(2026, 12, 1, 16, 29, 59)) == at(2026, 12, 1, 16, 30)


def test_lists_ranges_and_steps_in_minutes_and_hours():
    assert firings("cron(0,30 8-9 * * ? *)", at(2026, 1, 1), 5) == [
        at(2026, 1, 1, 8, 0),
        at(2026, 1, 1, 8, 30),
        at(2026, 1, 1, 9, 0),
        at(2026, 1, 1, 9, 30),
        at(2026, 1, 2, 8, 0),
    ]
    assert firings("cron(*/15 * * * ? *)", at(2026, 1, 1, 0, 7), 3) == [
        at(2026, 1, 1, 0, 15),
        at(2026, 1, 1, 0, 30),
        at(2026, 1, 1, 0, 45),
    ]
    assert firings("cron(5/20 10 * * ? *)", at(2026, 1, 1), 3) == [
        at(2026, 1, 1, 10, 5),
        at(2026, 1, 1, 10, 25),
        at(2026, 1, 1, 10, 45),
    ]
    assert firings("cron(0 1-10/4 * * ? *)", at(2026, 1, 1), 3) == [
        at(2026, 1, 1, 1, 0),
        at(2026, 1, 1, 5, 0),
        at(2026, 1, 1, 9, 0),
    ]


def test_day_of_week_uses_aws_numbering_sunday_is_one():
    # 2026-11-29 is a Sunday, 2026-11-30 a Monday
    assert Cron("cron(0 12 ? * 1 *)").next_after(at(2026, 11, 25)) == at(2026, 11, 29, 12, 0)
    assert Cron("cron(0 12 ? * SUN *)").next_after(at(2026, 11, 25)) == at(2026, 11, 29, 12, 0)
    assert Cron("cron(0 12 ? * 2 *)").next_after(at(2026, 11, 25)) == at(2026, 11, 30, 12, 0)


def test_weekday_ranges_by_name_skip_the_weekend():
    # Friday 2026-11-27 -> Monday 2026-11-30
    assert firings("cron(0 9 ? * MON-FRI *)", at(2026, 11, 27, 10, 0), 2) == [
        at(2026, 11, 30, 9, 0),
        at(2026, 12, 1, 9, 0),
    ]


def test_month_names_lists_and_years():
    assert firings("cron(0 0 1 JAN,JUL ? 2027)", at(2026, 3, 1), 3)[:2] == [
        at(2027, 1, 1, 0, 0),
        at(2027, 7, 1, 0, 0),
    ]
    assert Cron("cron(0 0 1 JAN ? 2027)").next_after(at(2027, 1, 1, 0, 0)) is None


def test_last_day_of_the_month_and_last_weekday():
    assert firings("cron(30 16 L * ? *)", at(2026, 1, 1), 3) == [
        at(2026, 1, 31, 16, 30),
        at(2026, 2, 28, 16, 30),
        at(2026, 3, 31, 16, 30),
    ]
    # 2026-05-31 is a Sunday: the last weekday is Friday the 29th
    assert Cron("cron(0 9 LW * ? *)").next_after(at(2026, 5, 1)) == at(2026, 5, 29, 9, 0)


def test_nth_and_last_weekday_of_the_month():
    # the second Tuesday of December 2026 is the 8th; the last Friday the 25th
    assert Cron("cron(0 9 ? * 3#2 *)").next_after(at(2026, 12, 1)) == at(2026, 12, 8, 9, 0)
    assert Cron("cron(0 9 ? * 6L *)").next_after(at(2026, 12, 1)) == at(2026, 12, 25, 9, 0)


def test_naive_times_are_taken_as_utc():
    assert Cron("cron(0 1 * * ? *)").next_after(datetime(2026, 1, 1)) == at(2026, 1, 1, 1, 0)


def test_rate_counts_whole_periods_from_its_anchor():
    start = at(2026, 1, 1, 0, 0, 20)
    rate = parse_schedule("rate(5 minutes)", anchor=start)
    assert isinstance(rate, Rate)
    assert rate.next_after(start) == start + timedelta(minutes=5)
    assert rate.next_after(start + timedelta(minutes=7)) == start + timedelta(minutes=10)
    assert parse_schedule("rate(1 hour)", anchor=start).next_after(start) == start + timedelta(hours=1)
    assert parse_schedule("rate(2 days)", anchor=start).next_after(start) == start + timedelta(days=2)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 12 * * * *)",  # both day fields given
        "cron(0 12 ? * ? *)",  # neither given
        "cron(0 12 * * ?)",  # five fields
        "cron(60 12 * * ? *)",  # minute out of range
        "cron(0 12 ? * 8 *)",  # day of week out of range
        "cron(*/0 12 * * ? *)",  # zero step
        "cron(0 12 * FOO ? *)",
        "rate(0 minutes)",
        "rate(5 weeks)",
        "every 5 minutes",
    ],
)
def test_expressions_eventbridge_rejects_are_rejected(expression):
    with pytest.raises(ScheduleError):
        parse_schedule(expression)


def test_a_chalice_cron_object_round_trips():
    from chalice import Cron as ChaliceCron
    from chalice import Rate as ChaliceRate

    assert Cron(ChaliceCron(30, 16, 1, "*", "?", "*").to_string()).next_after(at(2026, 1, 1)) == at(
        2026, 1, 1, 16, 30
    )
    rate = parse_schedule(ChaliceRate(1, unit=ChaliceRate.MINUTES).to_string(), anchor=at(2026, 1, 1))
    assert rate.next_after(at(2026, 1, 1)) == at(2026, 1, 1, 0, 1)
