"""Where a virtual branch is supervised: client address → ip2region region → division → department.

ip2region answers `国家|区域|省份|城市|ISP` with `0` for "not known", and writes names its own way:
municipalities and autonomous regions short (`北京`, `广西`, `新疆`), many prefectures short
(`大理`, `延边`, `恩施`, `吐鲁番`), most cities in full (`深圳市`). Names are matched against the
divisions in force (GB/T 2260 via `domain.divisions`): a province by its name or the start of it,
then, inside that province only, a city (or a county-level city that ip2region lists as a city,
such as 济源) the same way, preferring prefecture-level cities and refusing anything ambiguous.
The most precise division found wins: a city when one matched, else the province.

Municipalities: ip2region says `北京|北京市`; the city level of a municipality is a grouping
(`北京市市辖区`), so the city-level department is taken when the municipality has exactly one in
force (Beijing, Tianjin, Shanghai), otherwise the municipality itself (Chongqing has two).

Nothing is known of loopback, private, link-local or reserved addresses, of IPv6 (the database is
IPv4 only) or of addresses outside mainland China and Hong Kong, Macau and Taiwan: the caller then
falls back to the department above the founder's home branch (`fallback_department`).
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from chalicelib.domain import divisions

UNKNOWN = "0"
CHINA = "中国"


@dataclass(frozen=True)
class Location:
    """A department chosen for an address (or for a home branch), with how it was chosen."""

    org_id: str
    division_code: str | None
    path: tuple[str, ...]
    located_by: str  # "ip" or "home_branch"
    region: str | None = None  # ip2region's answer, kept for the founding record


def routable_ipv4(address: str | None) -> str | None:
    """The address as dotted IPv4 if it is a public, routable IPv4 one (IPv4-mapped IPv6 too), else None."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is None:
            return None
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        return None
    return str(ip)


def parse_region(region: str | None) -> tuple[str | None, str | None, str | None]:
    """`中国|0|广东省|深圳市|电信` → ("中国", "广东省", "深圳市"); unknown parts are None."""
    if not region:
        return None, None, None
    parts = [p.strip() for p in region.split("|")]
    parts += [UNKNOWN] * (5 - len(parts))

    def known(value: str) -> str | None:
        return None if value in ("", UNKNOWN, "内网IP") else value

    return known(parts[0]), known(parts[2]), known(parts[3])


@functools.cache
def _current_by_level() -> tuple[tuple[divisions.Division, ...], dict[str, tuple[divisions.Division, ...]]]:
    """(provinces in force, {province code prefix: its cities then counties in force})."""
    provinces = []
    below: dict[str, list[divisions.Division]] = {}
    for div in divisions.current_divisions():  # provinces, then cities, then counties
        if div.level == "province":
            provinces.append(div)
        else:
            below.setdefault(div.code[:2], []).append(div)
    return tuple(provinces), {k: tuple(v) for k, v in below.items()}


def _match(name: str, candidates: tuple[divisions.Division, ...]) -> divisions.Division | None:
    """The one candidate called `name`, else the one whose name starts with it; None if none or several."""
    exact = [d for d in candidates if d.name == name]
    if exact:
        return _first_of_highest_level(exact)
    stem = name.removesuffix("市") if len(name) > 2 else name
    starts = [d for d in candidates if d.name.startswith(stem)]
    return _first_of_highest_level(starts)


def _first_of_highest_level(found: list[divisions.Division]) -> divisions.Division | None:
    if not found:
        return None
    top = min(_LEVEL_RANK[d.level] for d in found)
    found = [d for d in found if _LEVEL_RANK[d.level] == top]
    return found[0] if len(found) == 1 else None


_LEVEL_RANK = {"province": 0, "city": 1, "county": 2}


def division_for(province_name: str | None, city_name: str | None) -> str | None:
    """The most precise division in force for ip2region's province and city names, or None."""
    if not province_name:
        return None
    provinces, below = _current_by_level()
    province = _match(province_name, provinces)
    if province is None:
        return None
    inside = below.get(province.code[:2], ())
    if city_name:
        if _is_municipality_city(province, city_name):
            cities = [d for d in inside if d.level == "city"]
            return cities[0].code if len(cities) == 1 else province.code
        city = _match(city_name, inside)
        if city is not None:
            return city.code
    return province.code


def _is_municipality_city(province: divisions.Division, city_name: str) -> bool:
    return city_name == province.name or city_name.removesuffix("市") == province.name.removesuffix("市")


def department_path(code: str) -> tuple[str, ...]:
    """The org path of the department of a division in force: `central` down to it."""
    return (divisions.CENTRAL_ORG_ID, *(divisions.org_id_for(c) for c in divisions.ancestors(code)))


def locate_region(region: str | None) -> Location | None:
    """The department for an ip2region answer, or None when it tells nothing usable."""
    country, province, city = parse_region(region)
    if country != CHINA:
        return None
    code = division_for(province, city)
    if code is None:
        return None
    return Location(
        org_id=divisions.org_id_for(code),
        division_code=code,
        path=department_path(code),
        located_by="ip",
        region=region,
    )


def fallback_department(home_path: tuple[str, ...] | list[str]) -> Location:
    """The department directly above the founder's home branch: a county, or whatever holds the branch.

    Physical branches sit directly under a department, so that is the org before the branch in its
    path; a member with no path at all falls back to the central department.
    """
    path = tuple(home_path or ())
    above = path[:-1] if len(path) > 1 else (divisions.CENTRAL_ORG_ID,)
    org_id = above[-1]
    code = org_id.removeprefix("div-") if org_id.startswith("div-") else None
    return Location(org_id=org_id, division_code=code, path=above, located_by="home_branch")
