"""Synthetic GWO studies: DataService records, harmonized outputs in S3, the manifest."""

from gwo_assets.sandbox.generator.manifest import MANIFEST_COLUMNS, MANIFEST_FORMATS
from gwo_assets.sandbox.generator.study import GeneratedStudy, generate_study, share_object

__all__ = ["MANIFEST_COLUMNS", "MANIFEST_FORMATS", "GeneratedStudy", "generate_study", "share_object"]
