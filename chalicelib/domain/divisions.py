"""The GB/T 2260 administrative division tree, read from python-stdnum's `stdnum/cn/loc.dat`.

Codes are never typed by hand: the data file is the single source, parsed lazily on first use and
cached. Each line of the file is a province (`11 province="北京市"`) or, indented under it, the last
four digits of a code with one or more comma-separated names, each optionally marked with the years
it was in force: `[-2010]` abolished in 2010, `[1986-]` created in 1986, `[1983-1999]` both.

Levels: `xx0000` is a province, `xxxx00` a city (prefecture level), anything else a county (county
level). A county's parent is its `xxxx00` city when that city exists and is current, otherwise the
province (directly administered county-level cities such as 济源 419001); a city's parent is its
province; a province has no parent (the central department sits above, see `CENTRAL_ORG_ID`).

Decisions:
- `current` means in force today: some name of the code carries no end year. Two kinds of entry are
  statistical groupings rather than divisions with a government, and are kept but never current:
  the county-level `xxxx01 市辖区` ("districts under the city", about 300 of them) and the
  city-level `xx9000 省直辖县级行政单位` (and the older `省直辖行政单位`). No department is created
  for them, and counties under such a grouping hang directly under the province.
- For the municipalities (Beijing 11, Tianjin 12, Shanghai 31, Chongqing 50) the city-level items
  `市辖区`, `县` and `市` are prefixed with the municipality's name (`北京市市辖区`, `重庆市县`), so
  department names read on their own.
- Taiwan 71, Hong Kong 81 and Macau 82 are in the data as provinces with no lower levels; they are
  kept as current provinces (the file lists 34). With no county-level code, no member can be
  registered there.
- Region codes (the first six digits of a registration number) are county-level codes. Besides the
  county level itself, `is_known_region_code` accepts the prefecture-level cities that never had a
  county-level code under them (东莞 441900, 中山 442000, 儋州 460400, 嘉峪关 620200 and a few
  abolished ones such as 沙市 420400): their residents carry the city code, exactly as in resident
  ID numbers. Abolished codes stay known (numbers issued before stay valid), and so do the `市辖区`
  groupings, which older numbers carry. Provinces and cities with counties are refused: a city
  code where a county is expected is a typing error, not history. `is_current_county` (for new
  registrations) accepts only region codes in force, never a grouping.
- A province's name is taken from its `xx0000` entry (simplified characters), not the header line.
- The data's own quirks are kept rather than patched by hand: 429001 随州市 is still listed as a
  current county-level city, although 随州 is prefecture-level 421300 since 2000.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

CENTRAL_ORG_ID = "central"

Level = Literal["province", "city", "county"]

_MUNICIPALITIES = frozenset({"11", "12", "31", "50"})
_MUNICIPAL_CITY_ITEMS = frozenset({"市辖区", "县", "市"})
_LEVEL_ORDER = {"province": 0, "city": 1, "county": 2}
_PROVINCE_LINE = re.compile(r'(\d{2}) province="([^"]*)"')
_CODE_LINE = re.compile(r'\s+(\d{4}) county="([^"]*)"')
_NAME_PART = re.compile(r"(?:\[(\d{4})?-(\d{4})?\])?(.*)")


@dataclass(frozen=True, slots=True)
class Division:
    """One administrative division: a province, a city (prefecture level) or a county."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    current: bool


def org_id_for(code: str) -> str:
    """Return the org id of the department for a division code."""
    return "div-" + code


def _level_of(code: str) -> Level:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def _read_name(raw: str) -> tuple[str, bool]:
    """Return the name in force (or the latest one) without year markers, and whether one is in force."""
    parts = []
    for part in raw.split(","):
        _start, end, name = _NAME_PART.fullmatch(part.strip()).groups()
        parts.append((name.strip(), end is None))
    in_force = [name for name, current in parts if current]
    return (in_force[-1], True) if in_force else (parts[-1][0], False)


def _is_grouping(code: str, name: str) -> bool:
    level = _level_of(code)
    if level == "county":
        return code.endswith("01") and name == "市辖区"
    return level == "city" and "直辖" in name and name.endswith("行政单位")


def _read_entries() -> tuple[dict[str, str], dict[str, str]]:
    """Read loc.dat into ({code: raw names}, {province prefix: header name})."""
    from importlib import resources  # imported here: it costs ~10 ms, paid only by the first lookup

    text = resources.files("stdnum.cn").joinpath("loc.dat").read_text(encoding="utf-8")
    entries: dict[str, str] = {}
    provinces: dict[str, str] = {}
    prefix = None
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if m := _PROVINCE_LINE.fullmatch(line):
            prefix = m.group(1)
            provinces[prefix] = m.group(2)
        elif (m := _CODE_LINE.fullmatch(line)) and prefix is not None:
            entries[prefix + m.group(1)] = m.group(2)
        else:
            raise ValueError(f"unexpected line in stdnum/cn/loc.dat: {line!r}")
    return entries, provinces


@functools.cache
def all_divisions() -> dict[str, Division]:
    """Return every division in the data, current or abolished, by code."""
    entries, provinces = _read_entries()
    names: dict[str, tuple[str, bool]] = {}
    for code, raw in entries.items():
        name, current = _read_name(raw)
        names[code] = (name, current and not _is_grouping(code, name))
    for prefix, header in provinces.items():
        names.setdefault(prefix + "0000", (header, True))

    divisions: dict[str, Division] = {}
    for code in sorted(names):
        name, current = names[code]
        level = _level_of(code)
        province = code[:2] + "0000"
        if level == "province":
            parent = None
        elif level == "city":
            parent = province
            if code[:2] in _MUNICIPALITIES and name in _MUNICIPAL_CITY_ITEMS:
                name = names[province][0] + name
        else:
            city = code[:4] + "00"
            city_name, city_current = names.get(city, ("", False))
            # An abolished county may hang under its abolished city; a current one only under a current city.
            usable = city in names and not _is_grouping(city, city_name) and (city_current or not current)
            parent = city if usable else province
        divisions[code] = Division(code=code, name=name, level=level, parent_code=parent, current=current)
    return divisions


@functools.cache
def _current_sorted() -> tuple[Division, ...]:
    current = (d for d in all_divisions().values() if d.current)
    return tuple(sorted(current, key=lambda d: (_LEVEL_ORDER[d.level], d.code)))


def current_divisions() -> list[Division]:
    """Return the divisions in force, provinces first, then cities, then counties (parents first)."""
    return list(_current_sorted())


def get(code: str) -> Division | None:
    """Return the division with this code, current or abolished, or None."""
    return all_divisions().get(code)


@functools.cache
def _cities_without_counties() -> frozenset[str]:
    """City codes under which no county-level division was ever coded: the city is its own county."""
    divisions = all_divisions()
    with_counties = {
        d.code[:4] + "00"
        for d in divisions.values()
        if d.level == "county" and not _is_grouping(d.code, d.name)
    }
    return frozenset(c for c, d in divisions.items() if d.level == "city" and c not in with_counties)


def is_known_region_code(code: str) -> bool:
    """Tell whether a code ever stood for a county-level area (valid in registration numbers)."""
    division = all_divisions().get(code)
    if division is None:
        return False
    return division.level == "county" or code in _cities_without_counties()


def is_current_county(code: str) -> bool:
    """Tell whether a code is a county-level area in force today (where new members may register)."""
    division = all_divisions().get(code)
    return division is not None and division.current and is_known_region_code(code)


def ancestors(code: str) -> list[str]:
    """Return the codes from the province down to the division itself; empty for an unknown code."""
    divisions = all_divisions()
    chain: list[str] = []
    current = divisions.get(code)
    while current is not None:
        chain.append(current.code)
        current = divisions.get(current.parent_code) if current.parent_code else None
    return chain[::-1]
