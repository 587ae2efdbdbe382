"""Time zones by name: every zone used stays loaded, unknown names are one ValueError."""

from __future__ import annotations

import pytest

from guardrail.core.records import Profile
from guardrail.core.zones import zone

# More zones than ZoneInfo keeps alive by itself (8).
MANY = (
    "Europe/Paris", "Europe/Berlin", "Europe/London", "America/New_York", "America/Chicago",
    "America/Denver", "America/Los_Angeles", "Asia/Tokyo", "Asia/Kolkata", "Australia/Sydney",
    "Africa/Lagos", "America/Sao_Paulo",
)  # fmt: skip


def test_a_zone_stays_loaded_however_many_zones_are_used() -> None:
    first = {name: zone(name) for name in MANY}
    for _ in range(3):
        for name in MANY:
            assert zone(name) is first[name]


@pytest.mark.parametrize("name", ["Mars/Olympus", "America", "../etc/passwd", "", "x" * 300])
def test_an_unknown_name_is_a_value_error(name: str) -> None:
    with pytest.raises(ValueError, match="unknown IANA timezone"):
        zone(name)


def test_a_profile_with_a_folder_for_a_timezone_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown IANA timezone"):
        Profile(event_id="e", customer_id="c", ts=1, timezone="America")
    assert Profile(event_id="e", customer_id="c", ts=1, timezone="Asia/Tokyo").timezone
