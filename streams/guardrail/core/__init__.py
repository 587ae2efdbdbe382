"""The pure decision core (see streams/guardrail/core/engine.py).

``make setup`` compiles its hot modules with mypyc (scripts/compile_core.py); Python then
imports the C extensions instead of the sources. An extension older than its source would run
old code, so importing the core refuses that instead of deciding with it.
"""

from pathlib import Path as _Path


def refuse_stale_extensions(package: _Path) -> None:
    """ImportError when a compiled module of ``package`` is older than its source."""
    for extension in package.rglob("*.so"):
        source = extension.with_name(extension.name.split(".", 1)[0] + ".py")
        if source.exists() and source.stat().st_mtime > extension.stat().st_mtime:
            raise ImportError(
                f"{extension.name} was compiled before {source} last changed: run `make compile`"
                " (or `make clean-compiled` to run the core as plain Python)"
            )


refuse_stale_extensions(_Path(__file__).parent)
