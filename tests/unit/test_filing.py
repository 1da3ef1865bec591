"""Filing arithmetic and archive bytes: sums add up, averages come from integers, bytes are stable."""

import csv
import io
import json

from chalicelib.domain import filing
from chalicelib.domain.filing import MemberRow, OrgRow, Summary


def rows():
    return [
        MemberRow("110105202007010024", "李四", "br-b", 12, 3, {"login": 3, "article_open": 9}),
        MemberRow("110105202007010016", "张三", "br-a", 0, 0, {}),
        MemberRow("110105202007010032", "王五", "br-a", 130, 20, {"reflection": 40, "login": 20}),
    ]


def test_buckets_cover_every_points_value_once():
    assert filing.BUCKET_LABELS == ("0", "1-9", "10-29", "30-59", "60-119", "120+")
    assert [filing.bucket_of(p) for p in (0, 1, 9, 10, 29, 30, 59, 60, 119, 120, 10_000)] == [
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
        5,
        5,
    ]


def test_summary_counts_members_active_members_points_and_distribution():
    s = Summary.of(rows())
    assert (s.members, s.active_members, s.points) == (3, 2, 142)
    assert s.average_points == 47.33
    assert s.to_dict()["distribution"] == {"0": 1, "1-9": 0, "10-29": 1, "30-59": 0, "60-119": 0, "120+": 1}


def test_rollups_are_sums_and_averages_come_from_the_sums():
    a, b = Summary.of(rows()[:1]), Summary.of(rows()[1:])
    total = Summary.total([a, b])
    assert total == Summary.of(rows())
    assert total.average_points == filing.average(142, 3)
    assert Summary.from_state(total.to_state()) == total


def test_average_rounds_half_up_and_is_null_without_members():
    assert filing.average(1, 8) == 0.13
    assert filing.average(1, 3) == 0.33
    assert filing.average(2, 3) == 0.67
    assert filing.average(0, 0) is None


def test_archives_are_the_same_bytes_whatever_the_order_of_the_rows():
    header = {"month": "2026-11", "org_id": "div-110105", "as_of": "2026-11-30T23:59:59+08:00"}
    children = [
        OrgRow("br-b", "B", "branch", Summary.of(rows()[:1])),
        OrgRow("br-a", "A", "branch", Summary()),
    ]
    one = filing.archive_json(header, Summary.of(rows()), children, rows())
    two = filing.archive_json(
        dict(reversed(header.items())), Summary.of(rows()), children[::-1], rows()[::-1]
    )
    assert one == two
    doc = json.loads(one)
    assert [m["registration_number"] for m in doc["members"]] == [
        "110105202007010016",
        "110105202007010032",
        "110105202007010024",
    ]
    assert filing.members_csv(rows()) == filing.members_csv(rows()[::-1])


def test_a_county_csv_lists_members_and_a_city_csv_its_child_orgs():
    children = [OrgRow("div-110105", "朝阳区", "county", Summary.of(rows()))]
    county = filing.archive_csv("county", children, rows()).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(county)))
    assert table[0][:5] == ["registration_number", "name", "branch_id", "points", "active_days"]
    assert table[0][5:] == ["login", "article_open", "section_open", "reflection", "group_post"]
    assert table[2] == ["110105202007010032", "王五", "br-a", "130", "20", "20", "0", "0", "40", "0"]
    city = list(csv.reader(io.StringIO(filing.archive_csv("city", children, rows()).decode("utf-8-sig"))))
    assert city[1][:7] == ["div-110105", "朝阳区", "county", "3", "2", "142", "47.33"]


def test_archive_keys():
    assert filing.archive_keys("2026-11", "central") == (
        "filings/2026-11/central.json",
        "filings/2026-11/central.csv",
    )


def test_month_end_moves_undo_what_happened_after_the_month_from_one_branchs_links():
    from chalicelib.domain.filing import MonthEndMoves

    end = "2026-11-30T23:59:59+08:00"
    moves = [
        ("2026-11-20T09:00:00+08:00", "in", "A", "甲"),  # during the month: stays as it is
        ("2026-11-30T15:59:59.500000+00:00", "out", "B", "乙"),  # 23:59:59.5 in Shanghai: the month's
        ("2026-11-30T16:00:00+00:00", "out", "C", "丙"),  # 00:00 on the 1st: after
        ("2026-12-03T10:00:00+08:00", "in", "D", "丁"),
        ("2026-12-09T10:00:00+08:00", "out", "D", "丁"),  # arrived first: was not here at the end
        ("2026-12-05T10:00:00+08:00", "in", "E", "戊"),
        ("2026-12-02T10:00:00+08:00", "out", "E", "戊"),  # left first: was here, and came back
    ]
    found = MonthEndMoves.of(moves, end)
    assert found.left == {"C": "丙", "E": "戊"}
    assert found.arrived == frozenset({"D"})


def test_registered_by_the_month_end():
    from chalicelib.domain.filing import registered_by

    end = "2026-11-30T23:59:59+08:00"
    assert registered_by("2026-11-30T15:59:59+00:00", end)
    assert not registered_by("2026-11-30T16:00:00+00:00", end)
    assert registered_by("", end) and registered_by("not a time", end)
