"""The drift audit: does the DataService still describe each study's objects in S3?

``assets.py`` the ``drift_audit`` asset and its checks (per study partition); ``scan.py`` the
reads (study read and HEADs side by side); ``report.py`` the report, CSVs and fixes;
``job.py`` the ``audit_gwo`` job and the ``gwo_drift_audit`` schedule; ``cli.py`` ``gwo audit``.
Classification rules: ``gwo_assets/core/drift.py``.
"""
