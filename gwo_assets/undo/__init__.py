"""undo_gwo: take back what one ingest_gwo run wrote, using that run's report."""

from gwo_assets.undo.job import undo_gwo

__all__ = ["undo_gwo"]
