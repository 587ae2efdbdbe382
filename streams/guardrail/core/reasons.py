"""The reason codes: one table, from which everything else that names them derives.

Each row is a rule of the contract: its code, its family, what it does when it fires and is
enforced, the mode a fresh policy gives it, whether a transactional message is exempt from it
and whether the policy may hold it out for the holdout group. The table's order is the order
rules run in and reasons are listed in (merge tags before surveillance copy, too_soon before
quiet hours, every deferral before expiry).

Derived from it: :data:`REASON_CODES`, the policy's ``rules`` sections and their default
modes (``core/policy.py``), the engine's rule list (``core/engine.py`` finds each rule as the
function named like its code in its family's module), the metrics' closed label values, the
demo's families and the documentation's code table.
"""

from __future__ import annotations

from typing import Final, Literal, NamedTuple

Family = Literal["repetitive", "mistaken", "intrusive", "consent"]
Mode = Literal["enforce", "shadow", "off"]
# What an enforced rule does when it fires: drop items (a rewrite; suppress when none is
# left), suppress, rewrite copy (suppress when nothing is left) or defer delivery (a rewrite).
Effect = Literal["drop", "suppress", "rewrite", "defer"]

FAMILIES: Final[tuple[Family, ...]] = ("repetitive", "mistaken", "intrusive", "consent")


class ReasonSpec(NamedTuple):
    code: str
    family: Family
    effect: Effect
    mode: Mode = "enforce"
    transactional_exempt: bool = False
    holdout_allowed: bool = False


REASONS: Final[tuple[ReasonSpec, ...]] = (
    ReasonSpec("already_purchased", "repetitive", "drop", holdout_allowed=True),
    ReasonSpec("duplicate_recommendation", "repetitive", "drop", "enforce", True, True),
    ReasonSpec("frequency_cap", "repetitive", "suppress", "enforce", True, True),
    ReasonSpec("unresolved_placeholder", "mistaken", "rewrite"),
    ReasonSpec("gift_purchase_signal", "mistaken", "suppress"),
    ReasonSpec("undeclared_life_event", "mistaken", "suppress"),
    ReasonSpec("sensitive_category", "intrusive", "suppress"),
    ReasonSpec("location_trigger", "intrusive", "suppress"),
    ReasonSpec("third_party_data", "intrusive", "suppress"),
    ReasonSpec("too_granular", "intrusive", "rewrite"),
    ReasonSpec("too_soon", "intrusive", "defer", "enforce", True, True),
    ReasonSpec("quiet_hours", "intrusive", "defer", "enforce", True),
    ReasonSpec("expired", "mistaken", "suppress"),
    ReasonSpec("personalization_opt_out", "consent", "suppress"),
    ReasonSpec("channel_opt_out", "consent", "suppress"),
    ReasonSpec("erased", "consent", "suppress"),
)

REASON_CODES: Final[tuple[str, ...]] = tuple(r.code for r in REASONS)
BY_CODE: Final[dict[str, ReasonSpec]] = {r.code: r for r in REASONS}
TRANSACTIONAL_EXEMPT: Final[frozenset[str]] = frozenset(
    r.code for r in REASONS if r.transactional_exempt
)
HOLDOUT_ALLOWED: Final[tuple[str, ...]] = tuple(r.code for r in REASONS if r.holdout_allowed)


def family(code: str) -> str:
    """The family of ``code``, or ``other`` for a code that is not in the table."""
    spec = BY_CODE.get(code)
    return spec.family if spec is not None else "other"
