"""The GB/T 2260 division tree read from python-stdnum: levels, parents, current and abolished codes."""

import re
from collections import Counter

import pytest

from chalicelib.domain import divisions
from chalicelib.domain.divisions import CENTRAL_ORG_ID, Division

LEVEL_RANK = {"province": 0, "city": 1, "county": 2}


def current_counts():
    return Counter(d.level for d in divisions.current_divisions())


def test_counts_of_current_divisions_are_plausible():
    counts = current_counts()

    assert 31 <= counts["province"] <= 34
    assert 300 < counts["city"] < 400
    assert 2800 < counts["county"] < 3000


def test_abolished_codes_are_kept():
    abolished = [d for d in divisions.all_divisions().values() if not d.current]

    assert len(abolished) > 3000
    assert all(d.level != "province" for d in abolished)


def test_every_code_is_six_digits_and_its_level_follows_its_shape():
    for code, division in divisions.all_divisions().items():
        assert re.fullmatch(r"[0-9]{6}", code) and division.code == code
        expected = "province" if code.endswith("0000") else "city" if code.endswith("00") else "county"
        assert division.level == expected


def test_names_are_cleaned_of_year_markers():
    names = [d.name for d in divisions.all_divisions().values()]

    assert all(name and "[" not in name and "]" not in name and "," not in name for name in names)


def test_every_current_division_hangs_under_a_current_parent_of_a_higher_level():
    by_code = divisions.all_divisions()

    for division in divisions.current_divisions():
        if division.level == "province":
            assert division.parent_code is None
            continue
        parent = by_code[division.parent_code]
        assert parent.current
        assert LEVEL_RANK[parent.level] < LEVEL_RANK[division.level]
        assert parent.code[:2] == division.code[:2]


def test_every_current_county_chain_reaches_a_province():
    for division in divisions.current_divisions():
        if division.level != "county":
            continue
        chain = divisions.ancestors(division.code)
        assert divisions.get(chain[0]).level == "province"
        assert chain[-1] == division.code
        assert all(divisions.get(code).current for code in chain)


def test_current_divisions_list_parents_before_children():
    seen = set()

    for division in divisions.current_divisions():
        assert division.parent_code is None or division.parent_code in seen
        seen.add(division.code)
    assert [d.level for d in divisions.current_divisions()] == sorted(
        (d.level for d in divisions.current_divisions()), key=LEVEL_RANK.get
    )


def test_beijing_chaoyang_sits_under_the_beijing_districts_item():
    assert divisions.ancestors("110105") == ["110000", "110100", "110105"]
    assert [divisions.get(code).name for code in divisions.ancestors("110105")] == [
        "北京市",
        "北京市市辖区",
        "朝阳区",
    ]
    assert divisions.get("110105") == Division("110105", "朝阳区", "county", "110100", True)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("120100", "天津市市辖区"),
        ("310100", "上海市市辖区"),
        ("500100", "重庆市市辖区"),
        ("500200", "重庆市县"),
    ],
)
def test_municipality_city_items_carry_the_municipality_name(code, name):
    assert divisions.get(code).name == name
    assert divisions.get(code).current


def test_jiyuan_a_county_level_city_under_the_province_hangs_under_henan():
    jiyuan = divisions.get("419001")

    assert jiyuan.name == "济源市"
    assert jiyuan.parent_code == "410000"
    assert divisions.ancestors("419001") == ["410000", "419001"]


def test_groupings_are_known_but_never_current():
    # 省直辖县级行政单位 and 市辖区 are statistical groupings, not departments.
    assert not divisions.get("419000").current
    assert not divisions.get("130101").current
    assert divisions.is_known_region_code("130101")
    assert not divisions.is_current_county("130101")
    assert not any(d.name.endswith("行政单位") for d in divisions.current_divisions())
    assert not any(d.level == "county" and d.name == "市辖区" for d in divisions.current_divisions())


def test_abolished_county_is_known_but_not_current():
    chongwen = divisions.get("110103")

    assert chongwen.name == "崇文区"
    assert not chongwen.current
    assert divisions.is_known_region_code("110103")
    assert not divisions.is_current_county("110103")


def test_a_renamed_county_takes_its_current_name():
    assert divisions.get("120110") == Division("120110", "东丽区", "county", "120100", True)


@pytest.mark.parametrize("code", ["441900", "442000", "460400", "620200"])
def test_cities_without_counties_serve_as_region_codes(code):
    assert divisions.is_known_region_code(code)
    assert divisions.is_current_county(code)


@pytest.mark.parametrize("code", ["110000", "110100", "410100", "999999", "", "11010", "1101050", "abcdef"])
def test_provinces_cities_with_counties_and_unknown_codes_are_not_region_codes(code):
    assert not divisions.is_known_region_code(code)
    assert not divisions.is_current_county(code)


def test_unknown_codes_have_no_division_and_no_ancestors():
    assert divisions.get("999999") is None
    assert divisions.ancestors("999999") == []


@pytest.mark.parametrize(
    ("code", "name"), [("710000", "台湾省"), ("810000", "香港特别行政区"), ("820000", "澳门特别行政区")]
)
def test_taiwan_hong_kong_and_macau_are_provinces_without_counties(code, name):
    division = divisions.get(code)

    assert division == Division(code, name, "province", None, True)
    assert not any(d.parent_code == code for d in divisions.all_divisions().values())


def test_org_ids_are_derived_from_division_codes():
    assert CENTRAL_ORG_ID == "central"
    assert divisions.org_id_for("110105") == "div-110105"


def test_division_data_is_loaded_once():
    assert divisions.all_divisions() is divisions.all_divisions()
    assert divisions.current_divisions() == divisions.current_divisions()
