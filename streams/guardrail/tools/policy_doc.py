"""The effective policy as a document, and a key-by-key difference of two policies.

Backs `guardrail policy show|validate|diff`, and names policies the way `guardrail diff` does:
a file path, or ``default`` for the packaged contract policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from guardrail.core.policy import Policy, load_policy

DEFAULT = "default"


def load_named(name: str | Path | None) -> Policy:
    """The policy named ``name``: ``default`` (or None) is the packaged one, else a YAML file.

    Raises :class:`guardrail.core.policy.PolicyError` with a one-line reason.
    """
    if name is None or str(name) == DEFAULT:
        return load_policy(None)
    return load_policy(Path(name))


def label(name: str | Path | None) -> str:
    return DEFAULT if name is None or str(name) == DEFAULT else str(name)


def effective(policy: Policy) -> dict[str, Any]:
    """The merged policy (defaults with the file laid over) as plain data."""
    data: dict[str, Any] = policy.model_dump(mode="json")
    return data


def to_yaml(policy: Policy) -> str:
    """The effective policy as YAML, headed by its version (what decisions carry)."""
    body = yaml.safe_dump(effective(policy), sort_keys=False, default_flow_style=False)
    return f"# policy_version: {policy.version}\n{body}"


def flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted keys to leaf values; lists and other non-mappings are leaves."""
    if isinstance(data, Mapping) and data:
        for key, value in data.items():
            yield from flatten(value, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, data


@dataclass(frozen=True)
class Change:
    """One key that differs: ``kind`` is ``added``, ``removed`` or ``changed``."""

    key: str
    kind: str
    before: Any
    after: Any

    def line(self) -> str:
        if self.kind == "added":
            return f"+ {self.key}: {_show(self.after)}"
        if self.kind == "removed":
            return f"- {self.key}: {_show(self.before)}"
        return f"~ {self.key}: {_show(self.before)} -> {_show(self.after)}"


def _show(value: Any) -> str:
    text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").removesuffix("...").strip()


def policy_changes(a: Policy, b: Policy) -> list[Change]:
    """Every key whose value differs between ``a`` and ``b``, in ``a``'s key order."""
    left = dict(flatten(effective(a)))
    right = dict(flatten(effective(b)))
    changes = []
    for key, before in left.items():
        if key not in right:
            changes.append(Change(key, "removed", before, None))
        elif right[key] != before:
            changes.append(Change(key, "changed", before, right[key]))
    changes += [Change(k, "added", None, v) for k, v in right.items() if k not in left]
    return changes
