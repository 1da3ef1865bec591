"""Case rules: routing to a department, the status machine, overdue, queue order, views."""

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain import cases
from chalicelib.domain.errors import Conflict


def test_department_levels_come_from_the_id():
    assert cases.department_level("central") == "central"
    assert cases.department_level("div-110000") == "province"
    assert cases.department_level("div-110100") == "city"
    assert cases.department_level("div-110105") == "county"
    for not_a_department in ("br-abc123", "vb-1", "div-1101", "div-abcdef", ""):
        assert cases.department_level(not_a_department) is None


def test_department_levels_agree_with_the_division_table():
    from chalicelib.domain import divisions

    for division in divisions.current_divisions():
        assert cases.department_level(divisions.org_id_for(division.code)) == division.level


@pytest.mark.parametrize(
    ("path", "handler"),
    [
        (("central", "div-110000", "div-110100", "div-110105", "br-1"), "div-110105"),  # under a county
        (("central", "div-440000", "div-441900", "br-1"), "div-441900"),  # a city without counties
        (("central", "div-110000", "br-1"), "div-110000"),  # straight under a province
        (("central", "br-central-office"), "central"),  # the central office branch
        (("central", "div-110000", "div-110100", "div-110105"), "div-110100"),  # about a county dept
        (("central", "div-110000"), "central"),  # about a province dept
        (("central",), "central"),  # about the centre itself
    ],
)
def test_cases_go_to_the_county_above_or_the_nearest_department(path, handler):
    assert cases.supervising_department(path) == handler


@pytest.mark.parametrize(
    ("current", "new"),
    [
        ("submitted", "accepted"),
        ("submitted", "rejected"),
        ("accepted", "accepted"),
        ("accepted", "resolved"),
        ("accepted", "rejected"),
    ],
)
def test_allowed_transitions(current, new):
    cases.check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [("submitted", "resolved"), ("submitted", "submitted"), ("accepted", "submitted")]
    + [(closed, new) for closed in ("resolved", "rejected") for new in ("accepted", "resolved", "rejected")],
)
def test_other_transitions_conflict(current, new):
    with pytest.raises(Conflict):
        cases.check_transition(current, new)


def test_an_open_case_untouched_for_15_days_is_overdue():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    touched = lambda delta: (now - delta).isoformat(timespec="seconds")  # noqa: E731
    assert not cases.is_overdue("submitted", touched(timedelta(days=14, hours=23)), now)
    assert cases.is_overdue("submitted", touched(timedelta(days=15)), now)
    assert cases.is_overdue("accepted", touched(timedelta(days=40)), now)
    assert not cases.is_overdue("resolved", touched(timedelta(days=40)), now)
    assert not cases.is_overdue("rejected", touched(timedelta(days=40)), now)


def test_the_queue_lists_open_cases_longest_untouched_first_then_closed_newest_first():
    keys = [
        cases.queue_key("resolved", "2026-10-01T00:00:00+00:00", "c1"),
        cases.queue_key("accepted", "2026-11-20T00:00:00+00:00", "c2"),
        cases.queue_key("rejected", "2026-11-01T00:00:00+00:00", "c3"),
        cases.queue_key("submitted", "2026-11-01T00:00:00+00:00", "c4"),
    ]
    assert [k.rsplit("#", 1)[1] for k in sorted(keys)] == ["c4", "c2", "c3", "c1"]


def _case(**kw):
    base = dict(
        case_id="case-0123456789abcdef",
        kind="report",
        subject="s",
        status="submitted",
        anonymous=True,
        handling_org_id="div-110105",
        handling_path=("central", "div-110000", "div-110100", "div-110105"),
        created_at="2026-11-01T00:00:00+00:00",
        updated_at="2026-11-01T00:00:00+00:00",
        last_touched_at="2026-11-01T00:00:00+00:00",
        body="b",
    )
    base.update(kw)
    return cases.Case(**base)


def test_a_case_has_no_field_for_an_anonymous_reporter():
    names = {f.name for f in dataclasses.fields(cases.Case)}
    assert not names & {"reporter", "reporter_ciphertext", "reporter_mac", "member_number"}


def test_handlers_see_the_sender_of_named_cases_and_nobody_for_anonymous_ones():
    now = datetime(2026, 11, 2, tzinfo=UTC)
    assert cases.handler_view(_case(), now)["submitted_by"] is None
    named = _case(anonymous=False, submitted_by=cases.Submitter("110105202007010016", "李四"))
    assert cases.handler_view(named, now)["submitted_by"] == {
        "registration_number": "110105202007010016",
        "name": "李四",
    }
    assert "submitted_by" not in cases.owner_view(named, now)


def test_members_see_answers_without_the_name_of_the_staff_member():
    now = datetime(2026, 11, 2, tzinfo=UTC)
    answer = cases.Response("r1", "div-110105", "110105202007010016", "accepted", "we look into it", "t")
    assert cases.owner_view(_case(), now, [answer])["responses"] == [
        {"org_id": "div-110105", "status": "accepted", "body": "we look into it", "at": "t"}
    ]
    assert cases.handler_view(_case(), now, [answer])["responses"][0]["responder"] == "110105202007010016"


def test_inbox_items_carry_the_overdue_flag_and_no_reporter():
    item = cases.inbox_item(_case(), datetime(2026, 11, 30, tzinfo=UTC))
    assert item["kind"] == "case" and item["id"] == "case-0123456789abcdef" and item["overdue"] is True
    assert item["org_id"] == "div-110105" and "submitted_by" not in item
