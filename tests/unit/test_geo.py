"""IP geolocation for virtual-branch supervision: addresses, ip2region names, divisions, fallbacks."""

from __future__ import annotations

import pytest

from chalicelib.domain import divisions, geo


@pytest.mark.parametrize(
    ("address", "province"),
    [
        ("220.181.38.148", "110000"),  # Beijing
        ("114.114.114.114", "320000"),  # Nanjing, Jiangsu
        ("202.96.134.133", "440000"),  # Shenzhen, Guangdong
        ("61.139.2.69", "510000"),  # Chengdu, Sichuan
        ("116.228.111.118", "310000"),  # Shanghai
        ("202.102.134.68", "370000"),  # Qingdao, Shandong
        ("222.85.85.85", "410000"),  # Zhengzhou, Henan
    ],
)
def test_well_known_chinese_addresses_land_in_their_province(address, province):
    from chalicelib.store import geoip

    location = geo.locate_region(geoip.lookup(address))
    assert location is not None and location.located_by == "ip"
    assert divisions.ancestors(location.division_code)[0] == province
    assert location.path[0] == "central" and location.path[-1] == location.org_id
    assert location.org_id == f"div-{location.division_code}"


def test_a_city_is_found_when_the_database_names_one():
    from chalicelib.store import geoip

    assert geo.locate_region(geoip.lookup("202.96.134.133")).division_code == "440300"  # 深圳市
    assert geo.locate_region(geoip.lookup("61.139.2.69")).division_code == "510100"  # 成都市


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.1.1",
        "0.0.0.0",
        "::1",
        "fe80::1",
        "",
        None,
        "x",
    ],
)
def test_loopback_private_and_malformed_addresses_tell_nothing(address):
    assert geo.routable_ipv4(address) is None


def test_ipv6_tells_nothing_except_ipv4_mapped():
    assert geo.routable_ipv4("2400:3200::1") is None  # the database is IPv4 only
    assert geo.routable_ipv4("::ffff:220.181.38.148") == "220.181.38.148"


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1"])
def test_foreign_addresses_tell_nothing(address):
    from chalicelib.store import geoip

    assert geo.locate_region(geoip.lookup(address)) is None


@pytest.mark.parametrize(
    ("province", "city", "code"),
    [
        ("北京", "北京市", "110100"),  # a municipality with one city-level department
        ("重庆", "重庆市", "500000"),  # two (市辖区, 县): the municipality itself
        ("广西", "南宁市", "450100"),  # short autonomous-region name
        ("云南省", "大理", "532900"),  # short prefecture name: 大理白族自治州
        ("内蒙古", "锡林郭勒", "152500"),  # 锡林郭勒盟
        ("新疆", "吐鲁番", "650400"),  # 吐鲁番市, not the abolished 吐鲁番地区
        ("河南省", "济源", "419001"),  # a county-level city directly under the province
        ("湖北省", "随州市", "421300"),  # listed at both levels: the prefecture-level city
        ("青海省", "海南", "632500"),  # 海南藏族自治州 inside Qinghai, not Hainan province
        ("山东省", "莱芜市", "370116"),  # abolished city, now 莱芜区 of Jinan
        ("香港", "沙田", "810000"),  # no lower divisions in the data: the region itself
        ("广东省", None, "440000"),  # province only
        ("广东省", "不存在市", "440000"),  # unknown city: the province
    ],
)
def test_ip2region_names_map_to_the_most_precise_division_in_force(province, city, code):
    assert geo.division_for(province, city) == code


def test_unknown_provinces_map_to_nothing():
    assert geo.division_for(None, "深圳市") is None
    assert geo.division_for("火星", "深圳市") is None
    assert geo.locate_region("0|0|0|内网IP|内网IP") is None
    assert geo.locate_region("") is None


def test_the_fallback_is_the_department_holding_the_home_branch():
    loc = geo.fallback_department(("central", "div-110000", "div-110100", "div-110105", "br-1"))
    assert (loc.org_id, loc.division_code, loc.located_by) == ("div-110105", "110105", "home_branch")
    assert loc.path == ("central", "div-110000", "div-110100", "div-110105")
    assert geo.fallback_department(("central", "br-central-office")).org_id == "central"
    assert geo.fallback_department(()).org_id == "central"


def test_the_database_is_read_once_and_knows_its_age():
    from chalicelib.store import geoip

    info = geoip.data_info()
    assert info.size_bytes > 10_000_000
    assert info.created_at.startswith("2022-")
