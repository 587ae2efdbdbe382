"""pydantic validation errors as one readable line: where, and what is wrong there.

Used for every record, policy, replay line and setting, so a problem reads the same wherever
it is reported. Values are never echoed (they may be customer data or secrets).
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import ValidationError


class Problem(NamedTuple):
    where: str  # dotted path of the field ("items.0.sku"), or the root's name
    message: str  # pydantic's message, without the value
    kind: str  # pydantic's error type ("missing", "extra_forbidden" ...)
    loc: tuple[int | str, ...]


def problems(exc: ValidationError, root: str = "record") -> list[Problem]:
    """Each error of ``exc``; ``root`` names a problem with the whole object."""
    return [
        Problem(
            ".".join(str(part) for part in error["loc"]) or root,
            error["msg"],
            error["type"],
            tuple(error["loc"]),
        )
        for error in exc.errors(include_url=False, include_input=False)
    ]


def one_line(exc: ValidationError, root: str = "record", limit: int | None = None) -> str:
    """``where: problem; where: problem``; with ``limit``, the first ones and ``(+N more)``."""
    found = problems(exc, root)
    shown = found if limit is None else found[:limit]
    text = "; ".join(f"{p.where}: {p.message}" for p in shown)
    hidden = len(found) - len(shown)
    return f"{text} (+{hidden} more)" if hidden else text
