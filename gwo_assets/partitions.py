"""One partition per study: each study's runs, materializations and check results side by side.

The ingest assets are partitioned by ``gwo_study`` (dynamic: its keys are study kf_ids).
Keys are registered automatically, so nobody adds one by hand - and only for a study that
exists: ``gwo ingest`` and the instance's run coordinator (runs launched from the UI or
GraphQL, taking the study from the run config when no partition was picked) first check the
id's form and then ask the DataService for the study (``check_study``: one ``GET
/studies/<kf_id>``), and register nothing for a run they refuse. The run's ``ingest``
resource registers its own study when it starts (``dagster job execute --tags
'{"dagster/partition": "SD_..."}'``), and the inbox sensor requests the study it attributed
from the DataService with its run.

A key registered by mistake is removed with ``gwo remove-partition SD_...`` (Dagster's
commands have no way to delete a dynamic partition key; GraphQL's ``deleteDynamicPartitions``
mutation does the same). It removes the key only: the study's runs and their event logs stay.
"""

import warnings
from collections.abc import Mapping
from typing import Any

from dagster import DagsterInstance, DynamicPartitionsDefinition

from gwo_assets.core.kf_ids import normalize_kf_id, validate_kf_id

STUDY_PARTITIONS = DynamicPartitionsDefinition(name="gwo_study")
PARTITION_TAG = "dagster/partition"
URL_ENV = "KF_DATASERVICE_URL"
# The run coordinator asks from the web server / daemon: a short wait, never a retry storm.
CHECK_CONNECT_TIMEOUT = 3.0
CHECK_READ_TIMEOUT = 10.0


class StudyRefused(Exception):
    """The study id is malformed or names no study of the DataService; ``str()`` says which."""


class StudyUncheckable(Exception):
    """The DataService could not be asked (unreachable, 401/403, no URL); ``str()`` says why."""


def register_study(instance: DagsterInstance, study_id: str) -> bool:
    """Add the study's partition key if it is missing; True when it was added.

    Callers that act on a user's input check the study first (``check_study``)."""
    if instance.has_dynamic_partition(STUDY_PARTITIONS.name, study_id):
        return False
    try:
        instance.add_dynamic_partitions(STUDY_PARTITIONS.name, [study_id])
    except Exception:  # another run of a new study registered it a moment ago (unique key)
        if not instance.has_dynamic_partition(STUDY_PARTITIONS.name, study_id):
            raise
        return False
    return True


def remove_study(instance: DagsterInstance, study_id: str) -> bool:
    """Delete the study's partition key (its runs and event logs stay); True when it existed."""
    if not instance.has_dynamic_partition(STUDY_PARTITIONS.name, study_id):
        return False
    instance.delete_dynamic_partition(STUDY_PARTITIONS.name, study_id)
    return True


def study_id_form(text: str) -> str:
    """The normalized study kf_id; StudyRefused (naming the id) when it is not one."""
    try:
        return validate_kf_id(normalize_kf_id(str(text)), "SD")
    except ValueError as error:
        raise StudyRefused(str(error)) from None


def check_study(study_id: str, url: str, token: str | None = None, *,
                connect_timeout: float = CHECK_CONNECT_TIMEOUT,
                read_timeout: float = CHECK_READ_TIMEOUT) -> str:
    """The study's normalized kf_id, once its form is right and the DataService at ``url``
    holds it (one ``GET /studies/<kf_id>``, no retries).

    StudyRefused: malformed, or the DataService answers 404. StudyUncheckable: no ``url``,
    the service cannot be reached or refuses the token (nothing is known about the study).
    ``token`` follows the dataservice resource's rule (unset: ``$KF_DATASERVICE_TOKEN``, for
    the service ``$KF_DATASERVICE_URL`` names)."""
    study = study_id_form(study_id)
    if not url:
        raise StudyUncheckable(f"no DataService URL to check study {study} against: set "
                               f"{URL_ENV} or the run config's dataservice url")
    from gwo_assets.errors import DataServiceError
    from gwo_assets.resources.dataservice import DataServiceResource

    resource = DataServiceResource(url=url, token=token or None)
    client_token = resource.effective_token
    from gwo_assets.resources.dataservice_client import DataServiceClient

    with DataServiceClient(resource.url, client_token, connect_timeout=connect_timeout,
                           read_timeout=read_timeout, max_retries=0,
                           retry_max_seconds=read_timeout) as client:
        try:
            record = client.get("/studies", study)
        except DataServiceError as error:
            raise StudyUncheckable(f"could not check that study {study} exists: {error}"
                                   ) from None
    if record is None:
        raise StudyRefused(f"Study {study} does not exist in the DataService at "
                           f"{client.public_url} (GET /studies/{study} answered 404): check the "
                           "study id (and the DataService URL)")
    return study


def dataservice_of(run_config: Mapping[str, Any], environ: Mapping[str, str]
                   ) -> tuple[str, str | None]:
    """The DataService URL and token a run of ``run_config`` would use (config, else
    environment; ``{env: VAR}`` values resolved)."""
    config = ((run_config.get("resources") or {}).get("dataservice") or {}).get("config") or {}

    def value(key: str) -> str | None:
        found = config.get(key)
        if isinstance(found, Mapping) and "env" in found:
            found = environ.get(str(found["env"]))
        return str(found) if found else None

    return value("url") or environ.get(URL_ENV, ""), value("token")


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
