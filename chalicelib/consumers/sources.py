"""Where consumers read from: stream ARNs from the environment, with a local placeholder."""

from __future__ import annotations

import os


def stream_arn(logical_table: str) -> str:
    """The stream ARN of a table: `MMP_STREAM_ARN_<TABLE>` when deployed or on the local stack.

    The placeholder still names the table, which is all the local event pump needs to find it.
    """
    from chalicelib.config import get_settings

    settings = get_settings()
    return os.environ.get(f"MMP_STREAM_ARN_{logical_table.upper()}") or (
        f"arn:aws:dynamodb:{settings.region}:000000000000:table/{settings.table(logical_table)}/stream/local"
    )
