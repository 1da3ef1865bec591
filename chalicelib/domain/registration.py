"""Registration numbers: the 18-character lifelong identifier of a member, built like a resident ID.

Layout: 6-digit region code (a county-level GB/T 2260 code where the member joined) + join date
`YYYYMMDD` + 3-digit sequence (001..999) + check character (ISO 7064 MOD 11-2, `0`-`9` or `X`).
`11010519491231002X` is valid. Pure Python; the division data is loaded on first use.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib.domain import divisions
from chalicelib.domain.errors import ValidationFailed

MAX_SEQUENCE = 999
LENGTH = 18
EARLIEST_JOIN_DATE = dt.date(1900, 1, 1)

_SHAPE = re.compile(r"[0-9]{17}[0-9Xx]", re.ASCII)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)
# China has kept UTC+8 without daylight saving since 1991: the fallback for runtimes without tzdata.
_CHINA_FIXED = dt.timezone(dt.timedelta(hours=8), "CST")

_MESSAGES = {
    "length": "a registration number has 18 characters",
    "format": "a registration number is 17 digits followed by a digit or X",
    "region": "the first six digits are not a known county-level region code",
    "date": "characters 7 to 14 are not a calendar date from 1900-01-01 on",
    "future_date": "the join date is in the future",
    "check_character": "the check character does not match",
}


class InvalidRegistrationNumber(ValidationFailed):
    """A string that is not a valid registration number; `reason` says which check failed first."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        detail = detail or _MESSAGES[reason]
        super().__init__(detail, errors=[{"reason": reason, "message": detail}])
        self.reason = reason


@dataclass(frozen=True, slots=True)
class RegistrationNumber:
    """A valid registration number and the parts read from it."""

    number: str
    region_code: str
    join_date: dt.date
    sequence: int

    def __str__(self) -> str:
        return self.number


def check_character(first17: str) -> str:
    """Return the ISO 7064 MOD 11-2 check character (`0`-`9` or `X`) for 17 digits."""
    if len(first17) != 17 or not _DIGITS.fullmatch(first17):
        raise ValueError("check_character needs exactly 17 ASCII digits")
    total = sum(int(digit) * pow(2, 17 - i, 11) for i, digit in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def compose(region_code: str, join_date: dt.date, sequence: int) -> str:
    """Build the registration number for a region code, join date and sequence (1..MAX_SEQUENCE)."""
    if isinstance(sequence, bool) or not isinstance(sequence, int) or not 1 <= sequence <= MAX_SEQUENCE:
        raise ValueError(f"sequence must be an integer from 1 to {MAX_SEQUENCE}")
    if len(region_code) != 6 or not _DIGITS.fullmatch(region_code):
        raise ValueError("region_code must be 6 ASCII digits")
    if not EARLIEST_JOIN_DATE.year <= join_date.year <= 9999:
        raise ValueError("join_date must be from 1900 on")
    first17 = f"{region_code}{join_date:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def today_in_china() -> dt.date:
    """Return today's date in Asia/Shanghai, the calendar that join dates follow."""
    try:
        zone: dt.tzinfo = ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        zone = _CHINA_FIXED
    return dt.datetime.now(zone).date()


def _read_date(digits: str) -> dt.date | None:
    try:
        date = dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None
    return date if date >= EARLIEST_JOIN_DATE else None


def parse(number: str, *, today: dt.date | None = None) -> RegistrationNumber:
    """Parse and validate a registration number, raising InvalidRegistrationNumber on the first failed check.

    Checks, in order: length, format, region code, join date (a calendar date from 1900-01-01, not after
    `today`, which defaults to today in Asia/Shanghai), check character. A lower-case `x` is read as `X`.
    """
    if not isinstance(number, str):
        raise InvalidRegistrationNumber("format")
    if len(number) != LENGTH:
        raise InvalidRegistrationNumber("length")
    if not _SHAPE.fullmatch(number):
        raise InvalidRegistrationNumber("format")
    number = number.upper()
    region_code = number[:6]
    if not divisions.is_known_region_code(region_code):
        raise InvalidRegistrationNumber("region")
    join_date = _read_date(number[6:14])
    if join_date is None:
        raise InvalidRegistrationNumber("date")
    if join_date > (today or today_in_china()):
        raise InvalidRegistrationNumber("future_date")
    if check_character(number[:17]) != number[17]:
        raise InvalidRegistrationNumber("check_character")
    return RegistrationNumber(number, region_code, join_date, int(number[14:17]))


def check(number: str, *, today: dt.date | None = None) -> dict:
    """Return the body of `GET /v1/registration-numbers/{number}`; never raises.

    `{"number", "valid", "reason"?, "region_code"?, "join_date"?}`. `reason` (the first failed check, as
    in `parse`) appears only when invalid. Once the length and format checks pass, each part is reported
    on its own merits, even when another check fails: `region_code` when it is a known region code,
    `join_date` (`YYYY-MM-DD`) when it is a calendar date from 1900-01-01 that is not in the future.
    A string of the wrong length or format has no reliable parts, so none are reported. `number` is
    echoed as given, with a trailing `x` upper-cased once the format is right.
    """
    today = today or today_in_china()
    try:
        parsed = parse(number, today=today)
    except InvalidRegistrationNumber as error:
        reason = error.reason
    else:
        return {
            "number": parsed.number,
            "valid": True,
            "region_code": parsed.region_code,
            "join_date": parsed.join_date.isoformat(),
        }
    body: dict = {"number": number, "valid": False, "reason": reason}
    if reason in ("length", "format"):
        return body
    body["number"] = number.upper()
    if divisions.is_known_region_code(number[:6]):
        body["region_code"] = number[:6]
    join_date = _read_date(number[6:14])
    if join_date is not None and join_date <= today:
        body["join_date"] = join_date.isoformat()
    return body
