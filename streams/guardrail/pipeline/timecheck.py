"""Event times in seconds rather than milliseconds: a unit bug, not a time to decide at.

``ts`` is epoch milliseconds. A producer that writes seconds gives values around 1.8e9, which
read as milliseconds fall in January 1970: every window rule would then see the event as
ancient. Anything below ``min_ts_ms`` (default 1e11 ms, 1973-03-03) is taken for that mistake
and dead-lettered as ``ts_out_of_range``.
"""

from __future__ import annotations


def seconds_problem(ts: int, min_ts_ms: int) -> str | None:
    """Why ``ts`` looks like a time in seconds, or None (``min_ts_ms`` 0 = off)."""
    if min_ts_ms and ts < min_ts_ms:
        return f"ts {ts} is below min_ts_ms={min_ts_ms}: a time in seconds, not epoch milliseconds?"
    return None
