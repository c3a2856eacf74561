"""PLACEHOLDER (branch issue-12-cli) for main's "Partitions per study" commit: the same API,
so the CLI and the inbox sensor can be built against it. Main's version replaces this file."""

from dagster import DagsterInstance, DynamicPartitionsDefinition

STUDY_PARTITIONS = DynamicPartitionsDefinition(name="gwo_study")


def register_study(instance: DagsterInstance, study_id: str) -> bool:
    """Add ``study_id`` as a partition key unless it is there; True when it was added."""
    if instance.has_dynamic_partition(STUDY_PARTITIONS.name, study_id):
        return False
    instance.add_dynamic_partitions(STUDY_PARTITIONS.name, [study_id])
    return True
