"""gwo_assets: ingest Genomic Workflow Output manifests into the Kids First DataService."""

from gwo_assets.definitions import defs

__all__ = ["defs"]
