"""Which study a GWO manifest belongs to: the rule the manifest inbox applies before a dry run.

Every row's biospecimen must belong to one and the same study, and a study named by the
manifest's path (``<inbox>/SD_XXXXXXXX/...``), if any, must be that study. Anything else
is a reason string, one sentence naming what to fix. Pure: the caller looks the
biospecimens up (``lookup``: biospecimen kf_id -> study kf_id, None when unknown).
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from gwo_assets.core.kf_ids import is_kf_id, normalize_kf_id
from gwo_assets.core.manifest import normalize_manifest, read_manifest_bytes
from gwo_assets.errors import ManifestError

_LISTED = 5  # kf_ids named in a reason before "and N more"

StudyLookup = Callable[[list[str]], Mapping[str, str | None]]


@dataclass(frozen=True)
class ManifestBiospecimens:
    """The distinct KF Biospecimen IDs of a manifest (file order) and the rows naming none."""

    ids: tuple[str, ...]
    rows_without: tuple[int, ...] = ()

    @property
    def lookupable(self) -> list[str]:
        """The ids worth a DataService look-up (valid BS kf_ids); the others are unknown."""
        return [kf_id for kf_id in self.ids if is_kf_id(kf_id, "BS")]


@dataclass(frozen=True)
class Attribution:
    """``study_id`` when the manifest is attributed, else the ``reason`` it is not."""

    study_id: str | None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.study_id is not None


def manifest_biospecimens(data: bytes, name: str) -> ManifestBiospecimens:
    """Read and normalize the manifest bytes (``core.manifest``); ManifestError if unreadable."""
    rows = normalize_manifest(read_manifest_bytes(data, name))
    named = rows["biospecimen_id"].notna()
    return ManifestBiospecimens(
        ids=tuple(dict.fromkeys(rows.loc[named, "biospecimen_id"])),
        rows_without=tuple(sorted(set(rows.loc[~named, "row"].astype(int)))))


def study_in_path(relative_path: str) -> str | None:
    """The study a path names by its first folder (``SD_XXXXXXXX/manifest.tsv``), else None."""
    parts = PurePosixPath(relative_path.replace("\\", "/")).parts[:-1]
    if not parts:
        return None
    candidate = normalize_kf_id(parts[0])
    return candidate if is_kf_id(candidate, "SD") else None


def attribute_study(biospecimens: ManifestBiospecimens, study_of: Mapping[str, str | None],
                    path_study: str | None = None) -> Attribution:
    """The manifest's study, or every reason it has none (joined by '; ')."""
    if not biospecimens.ids and not biospecimens.rows_without:
        return Attribution(None, "the manifest has no data rows")
    problems = []
    if biospecimens.rows_without:
        problems.append(f"{_rows(biospecimens.rows_without)} no KF Biospecimen ID")
    unknown = [kf_id for kf_id in biospecimens.ids if not study_of.get(kf_id)]
    if unknown:
        problems.append(f"{len(unknown)} biospecimen(s) not found in the DataService: "
                        f"{_listed(unknown)}")
    by_study: dict[str, list[str]] = {}
    for kf_id in biospecimens.ids:
        if study_of.get(kf_id):
            by_study.setdefault(study_of[kf_id], []).append(kf_id)
    if len(by_study) > 1:
        studies = ", ".join(f"{study} ({len(ids)}, e.g. {ids[0]})"
                            for study, ids in sorted(by_study.items()))
        problems.append(f"its biospecimens belong to {len(by_study)} studies: {studies}; "
                        "split it into one manifest per study")
    elif len(by_study) == 1 and path_study is not None and path_study not in by_study:
        (study, ids), = by_study.items()
        problems.append(f"its path names {path_study} but its biospecimens are {study}'s "
                        f"(e.g. {ids[0]}); move it under {study}/ or fix the manifest")
    if problems or not by_study:
        return Attribution(None, "; ".join(problems) or "no biospecimen was found")
    return Attribution(next(iter(by_study)))


def attribute_manifest(data: bytes, name: str, relative_path: str,
                       lookup: StudyLookup) -> Attribution:
    """Read, look up and decide in one go; an unreadable manifest is a reason, not an error.

    Errors of ``lookup`` itself (the DataService unreachable) propagate: they say nothing
    about the manifest.
    """
    try:
        biospecimens = manifest_biospecimens(data, name)
    except ManifestError as error:
        return Attribution(None, str(error))
    study_of = lookup(biospecimens.lookupable) if biospecimens.lookupable else {}
    return attribute_study(biospecimens, study_of, study_in_path(relative_path))


def _rows(rows: Iterable[int]) -> str:
    rows = list(rows)
    label = "row" if len(rows) == 1 else "rows"
    verb = "has" if len(rows) == 1 else "have"
    return f"{label} {_listed([str(row) for row in rows])} {verb}"


def _listed(values: list[str]) -> str:
    shown = ", ".join(values[:_LISTED])
    return shown + (f" and {len(values) - _LISTED} more" if len(values) > _LISTED else "")
