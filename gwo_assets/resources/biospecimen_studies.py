"""Biospecimen kf_id -> study kf_id through the DataService: biospecimen -> participant -> study."""

from collections.abc import Iterable

from gwo_assets.resources.dataservice_client import DataServiceClient


def studies_of_biospecimens(client: DataServiceClient,
                            biospecimen_ids: Iterable[str]) -> dict[str, str | None]:
    """``GET /biospecimens/{id}`` then ``GET /participants/{id}`` (each participant once),
    concurrently; None for a biospecimen (or its participant) the service does not know."""
    biospecimen_ids = list(dict.fromkeys(biospecimen_ids))
    biospecimens = client.map_concurrently(lambda kf_id: client.get("/biospecimens", kf_id),
                                           biospecimen_ids)
    participant_of = {kf_id: (record or {}).get("participant_id")
                      for kf_id, record in zip(biospecimen_ids, biospecimens)}
    participant_ids = sorted({kf_id for kf_id in participant_of.values() if kf_id})
    participants = client.map_concurrently(lambda kf_id: client.get("/participants", kf_id),
                                           participant_ids)
    study_of_participant = {kf_id: (record or {}).get("study_id")
                            for kf_id, record in zip(participant_ids, participants)}
    return {kf_id: study_of_participant.get(participant) if participant else None
            for kf_id, participant in participant_of.items()}
