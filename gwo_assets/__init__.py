"""gwo_assets: ingest Genomic Workflow Output manifests into the Kids First DataService.

``defs`` (the code location's Definitions) is loaded on first access, so that
``python -m gwo_assets.sandbox`` and the pure ``core`` modules don't pay for
importing dagster and every asset; ``dagster -m gwo_assets`` finds it as usual.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from gwo_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'gwo_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "defs"])
