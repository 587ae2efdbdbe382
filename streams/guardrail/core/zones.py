"""IANA time zones by name, held for the life of the process.

``ZoneInfo(name)`` keeps only 8 zones alive: with customers in more zones than that, nearly
every call read a zone from the zone database again (~34 µs, measured), in the validation of
every profile record and in the quiet-hours rule alike.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=1024)  # about 600 zones exist; unknown names raise and are not kept
def zone(name: str) -> ZoneInfo:
    """The zone called ``name``; ValueError when the zone database has none by that name."""
    try:
        return ZoneInfo(name)
    # OSError: a name of a folder of the zone database ("America"), or too long a name.
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise ValueError(f"unknown IANA timezone {name[:64]!r}") from exc
