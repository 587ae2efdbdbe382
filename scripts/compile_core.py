"""Compile the pure decision core with mypyc into C extensions next to its sources.

The core is typed strictly (mypy --strict), so mypyc can compile it as it is: same code, same
decisions (the unit, golden and property tests run against the compiled modules), about a
fifth to a quarter less CPU per event (`guardrail bench engine`). Records and policy stay
interpreted (pydantic models). ``make setup`` runs this; ``make clean-compiled`` undoes it.
Without a C compiler the core simply runs as Python.

    python scripts/compile_core.py          # build the extensions in place
    python scripts/compile_core.py --clean  # remove them
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "streams" / "guardrail" / "core"
# The hot path of decide(); records.py, policy.py and replay.py stay Python (pydantic, I/O).
MODULES = [
    "categories.py",
    "coherence.py",
    "engine.py",
    "explain.py",
    "sentences.py",
    "state.py",
    "text.py",
    "updates.py",
    "rules/base.py",
    "rules/consent.py",
    "rules/intrusive.py",
    "rules/mistaken.py",
    "rules/repetitive.py",
]


def compiled_files() -> list[Path]:
    return sorted(CORE.rglob("*.so"))


def clean() -> None:
    for path in compiled_files():
        path.unlink()
        print(f"removed {path.relative_to(ROOT)}")


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import setup

    clean()
    extensions = mypycify(
        [str(CORE / m) for m in MODULES],
        opt_level="3",
        # The shared runtime library goes inside the package, not beside it at the top level.
        group_name="guardrail.core.compiled",
    )
    setup(
        name="guardrail-core",
        ext_modules=extensions,
        package_dir={"": "streams"},
        script_args=["build_ext", "--inplace", "--build-temp", str(ROOT / "build")],
    )
    # build_ext copies unchanged extensions with their old times: mark them as built now,
    # or streams/guardrail/core/__init__.py takes them for stale.
    for path in compiled_files():
        path.touch()
    print(f"compiled {len(MODULES)} core modules with mypyc")


if __name__ == "__main__":
    if sys.argv[1:] == ["--clean"]:
        clean()
    elif sys.argv[1:]:
        sys.exit("usage: python scripts/compile_core.py [--clean]")
    else:
        build()
