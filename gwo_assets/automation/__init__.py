"""What starts runs by itself: the manifest inbox sensor (``gwo_manifest_inbox``).

- ``inbox.py``: list and read the inbox (a local folder or an ``s3://bucket/prefix/``), and the
  sensor's cursor (content hashes already handled);
- (biospecimen kf_id -> study kf_id through the DataService: ``resources/biospecimen_studies.py``,
  shared with the plans, which name the other study of a file);
- ``manifest_inbox.py``: the sensor: new bytes -> study (``core/manifest_study.py``) -> the
  partition and a dry-run request. It never requests a real run.
"""
