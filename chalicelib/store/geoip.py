"""Offline IP geolocation: py-ip2region's searcher over the ip2region xdb that XdbSearchIP ships.

The database (about 11 MB, ip2region data of June 2022) is installed with the dependencies and
never fetched at run time. It is read into memory on the first lookup of a process, not at import,
so a Lambda that never founds a branch never pays for it; a lookup then takes a few microseconds.
`MMP_IP2REGION_XDB` may point at a newer xdb file (see README, "Refreshing the IP data").
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()
_searcher: Any = None
_info: DataInfo | None = None


@dataclass(frozen=True)
class DataInfo:
    path: str
    size_bytes: int
    created_at: str  # when the xdb file was generated, from its header


def database_path() -> str:
    """`MMP_IP2REGION_XDB`, else the xdb inside the installed XdbSearchIP package."""
    explicit = os.environ.get("MMP_IP2REGION_XDB")
    if explicit:
        return explicit
    from importlib import resources

    return str(resources.files("XdbSearchIP").joinpath("data", "ip2region.xdb"))


def _load() -> Any:
    global _searcher, _info
    if _searcher is None:
        with _lock:
            if _searcher is None:
                from ip2region import searcher, util

                path = database_path()
                util.verify_from_file(path)
                header = util.load_header_from_file(path)
                version = util.version_from_header(header)
                if version is not util.IPv4:
                    raise RuntimeError(f"the ip2region database at {path} is not an IPv4 database")
                content = util.load_content_from_file(path)
                _info = DataInfo(
                    path=path,
                    size_bytes=len(content),
                    created_at=datetime.fromtimestamp(header.createdAt, UTC).isoformat(timespec="seconds"),
                )
                _searcher = searcher.new_with_buffer(version, content)
    return _searcher


def lookup(ipv4: str) -> str | None:
    """ip2region's `国家|区域|省份|城市|ISP` for a dotted IPv4 address, or None when it knows nothing."""
    try:
        region = _load().search(ipv4)
    except ValueError:
        return None
    return region or None


def data_info() -> DataInfo:
    """Where the database is and when it was generated (loads it if needed)."""
    _load()
    assert _info is not None
    return _info


def forget() -> None:
    """Drop the loaded database (tests point `MMP_IP2REGION_XDB` elsewhere)."""
    global _searcher, _info
    with _lock:
        _searcher = None
        _info = None
