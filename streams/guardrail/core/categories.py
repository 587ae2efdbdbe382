"""Category paths and the policy's category lists, with the lookups memoized per policy.

A rule on ``electronics`` covers ``electronics/laptops/gaming`` but not ``electronics-outlet``.
"""

from __future__ import annotations

from collections.abc import Iterable

from guardrail.core.policy import DAY_MS, Policy


def under(category: str, prefix: str) -> bool:
    """True when ``category`` is ``prefix`` or lies below it in the slash path."""
    return category == prefix or (
        category.startswith(prefix) and category[len(prefix) : len(prefix) + 1] == "/"
    )


def root_in(category: str, roots: Iterable[str]) -> str | None:
    """The most specific of ``roots`` that covers ``category``, if any."""
    best: str | None = None
    for root in roots:
        if under(category, root) and (best is None or len(root) > len(best)):
            best = root
    return best


class CategoryIndex:
    """The policy's category lookups, memoized: categories repeat, lookups stay cheap."""

    def __init__(self, policy: Policy) -> None:
        rules = policy.rules
        self._durable = rules.already_purchased.durable_categories
        self._consumable = rules.already_purchased.consumable_intervals_days
        self._groups = rules.sensitive_category.groups
        self.sku_window_ms = int(rules.already_purchased.sku_window_days * DAY_MS)
        self.durable_window_ms = int(rules.already_purchased.durable_window_days * DAY_MS)
        self._memory_ms = int(policy.state.purchase_memory_days * DAY_MS)
        self._flagged_ms = int(policy.state.flagged_purchase_memory_days * DAY_MS)
        self._durable_memo: dict[str, str | None] = {}
        self._consumable_memo: dict[str, tuple[str, int] | None] = {}
        self._sensitive_memo: dict[str, frozenset[str]] = {}

    def durable_root(self, category: str) -> str | None:
        try:
            return self._durable_memo[category]
        except KeyError:
            root = self._durable_memo[category] = root_in(category, self._durable)
            return root

    def consumable(self, category: str) -> tuple[str, int] | None:
        """The consumable root covering ``category`` and its replenish interval in ms."""
        try:
            return self._consumable_memo[category]
        except KeyError:
            root = root_in(category, self._consumable)
            found = None if root is None else (root, int(self._consumable[root] * DAY_MS))
            self._consumable_memo[category] = found
            return found

    def sensitive_groups(self, category: str) -> frozenset[str]:
        """Every sensitive group ``category`` falls in (a category may be in several)."""
        try:
            return self._sensitive_memo[category]
        except KeyError:
            groups = frozenset(
                name
                for name, prefixes in self._groups.items()
                if any(under(category, prefix) for prefix in prefixes)
            )
            self._sensitive_memo[category] = groups
            return groups

    def purchase_retention_ms(self, category: str, gift: bool) -> int:
        """How long a purchased item is remembered as an item (SKU, event id, category).

        Gifts and sensitive purchases are remembered longer, so that a recommendation built
        on them is still caught (``gift_purchase_signal``, ``sensitive_category``).
        """
        keep = max(self.sku_window_ms, self._memory_ms)
        if gift or self.sensitive_groups(category):
            keep = max(keep, self._flagged_ms)
        return keep

    def roots(self, category: str) -> list[tuple[str, int]]:
        """The durable and consumable categories covering ``category``, with their windows."""
        found = []
        durable = self.durable_root(category)
        if durable is not None:
            found.append((durable, self.durable_window_ms))
        consumable = self.consumable(category)
        if consumable is not None:
            found.append(consumable)
        return found
