"""One partition per study: each study's runs, materializations and check results side by side.

The ingest assets are partitioned by ``gwo_study`` (dynamic: its keys are study kf_ids).
Keys are registered automatically on every path, so nobody adds one by hand: the run's
``ingest`` resource registers its own study when it starts (``dagster job execute --tags
'{"dagster/partition": "SD_..."}'``, ``gwo ingest``), the instance's run coordinator
registers it for runs launched from the UI or GraphQL (taking the study from the run config
when no partition was picked), and the inbox sensor requests it with its run.
"""

import warnings

from dagster import DagsterInstance, DynamicPartitionsDefinition

STUDY_PARTITIONS = DynamicPartitionsDefinition(name="gwo_study")
PARTITION_TAG = "dagster/partition"


def register_study(instance: DagsterInstance, study_id: str) -> bool:
    """Add the study's partition key if it is missing; True when it was added."""
    if instance.has_dynamic_partition(STUDY_PARTITIONS.name, study_id):
        return False
    try:
        instance.add_dynamic_partitions(STUDY_PARTITIONS.name, [study_id])
    except Exception:  # another run of a new study registered it a moment ago (unique key)
        if not instance.has_dynamic_partition(STUDY_PARTITIONS.name, study_id):
            raise
        return False
    return True


def study_check(**kwargs):
    """``@asset_check`` partitioned by study: each result belongs to its study's partition, so
    an asset's Checks tab reads per study and one study's failure never colours another's.

    Dagster 1.13 flags ``partitions_def`` on a check as a preview; the warning is silenced
    here only, for these checks (the behaviour is pinned by the e2e GraphQL test)."""
    from dagster import PreviewWarning, asset_check

    def decorate(fn):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=PreviewWarning,
                                    message="Specifying a partitions_def on an AssetCheckSpec")
            return asset_check(partitions_def=STUDY_PARTITIONS, **kwargs)(fn)
    return decorate
