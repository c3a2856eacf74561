"""The drift audit: does the DataService still describe each study's objects in S3?

``assets.py`` the ``drift_audit`` asset and its checks (per study partition); ``scan.py`` the
reads (study read and HEADs side by side); ``report.py`` the report, CSVs and fixes;
``job.py`` the ``audit_gwo`` job and the ``gwo_drift_audit`` schedule; ``cli.py`` ``gwo audit``.
Classification rules: ``gwo_assets/core/drift.py``.
"""

from gwo_assets.audit.assets import AUDIT_CHECKS, drift_audit
from gwo_assets.audit.job import audit_gwo, gwo_drift_audit

__all__ = ["AUDIT_CHECKS", "audit_gwo", "drift_audit", "gwo_drift_audit"]
