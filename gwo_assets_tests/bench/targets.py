"""The project's performance targets (issue 6), as numbers and verdicts.

- fresh load: pipeline / write floor <= 1.3 (judged at 10,000 files)
- naive loader / pipeline >= 5
- DataService requests of a fresh load <= 2N + B + E + 4*ceil(T/1000) + 10, the
  external_id look-ups of files the study read cannot see counted apart
- rerun: zero writes, bulk reads only: no external_id look-ups, and no more requests
  than the bulk allowance 4*ceil(T/1000) + 10 (T as the rerun finds the tables)
- 100k-row manifest, parse + every manifest check: < 20 s and peak RSS < 1 GiB
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gwo_assets_tests.bench.naive_loader import NaiveOutcome
from gwo_assets_tests.bench.pipeline_run import PipelineRun
from gwo_assets_tests.bench.write_floor import WriteFloor

FLOOR_RATIO_MAX = 1.3
FLOOR_RATIO_JUDGED_AT = 10_000
NAIVE_RATIO_MIN = 5.0
MANIFEST_SECONDS_MAX = 20.0
MANIFEST_RSS_MIB_MAX = 1024.0


@dataclass(frozen=True)
class Verdict:
    name: str
    value: str
    target: str
    met: bool | None  # None: informational at this size

    @property
    def mark(self) -> str:
        return {True: "MET", False: "MISSED", None: "(info)"}[self.met]


def bulk_read_allowance(table_rows: int) -> int:
    """Requests allowed for everything but the per-entity writes: 4*ceil(T/1000) + 10."""
    return 4 * math.ceil(table_rows / 1000) + 10


def request_allowance(files: int, bs_links: int, se_links: int, table_rows: int) -> int:
    """2N + B + E + 4*ceil(T/1000) + 10: each new file is looked up by external_id (the
    correctness default) and POSTed once, each link POSTed once."""
    return 2 * files + bs_links + se_links + bulk_read_allowance(table_rows)


def size_verdicts(files: int, table_rows: int, rerun_table_rows: int, fresh: PipelineRun,
                  rerun: PipelineRun, floor: WriteFloor, naive: NaiveOutcome) -> list[Verdict]:
    """Every target that applies to one study size.

    T is what each run finds in the four study tables when it starts: the rerun
    reads (and reads back) the files and links the fresh load added.
    """
    floor_ratio = fresh.seconds / floor.seconds_for(fresh.writes)
    cpu_ratio = ((fresh.client_cpu_seconds + fresh.server_cpu_seconds)
                 / floor.cpu_seconds_for(fresh.writes))
    naive_ratio = naive.seconds / fresh.seconds
    allowed = request_allowance(files, fresh.planned_writes["biospecimen_genomic_files"],
                                fresh.planned_writes["sequencing_experiment_genomic_files"],
                                table_rows)
    rerun_reads_ok = (rerun.writes == 0 and rerun.external_id_lookups == 0
                      and rerun.total_requests <= bulk_read_allowance(rerun_table_rows))
    judged = files >= FLOOR_RATIO_JUDGED_AT * 0.9
    return [
        Verdict("pipeline / floor (fresh)", f"{floor_ratio:.2f}", f"<= {FLOOR_RATIO_MAX}",
                floor_ratio <= FLOOR_RATIO_MAX if judged else None),
        Verdict("  same in CPU s (client + server)", f"{cpu_ratio:.2f}", "(less load-sensitive)",
                None),
        Verdict("naive / pipeline (fresh)", f"{naive_ratio:.1f}", f">= {NAIVE_RATIO_MIN:g}",
                naive_ratio >= NAIVE_RATIO_MIN),
        Verdict("DataService requests, fresh (look-ups counted)",
                f"{fresh.total_requests} (of which {fresh.external_id_lookups} look-ups)",
                f"<= {allowed}", fresh.total_requests <= allowed),
        Verdict("rerun: writes / look-ups / requests", f"{rerun.writes} / "
                f"{rerun.external_id_lookups} / {rerun.total_requests}",
                f"0 / 0 / <= {bulk_read_allowance(rerun_table_rows)}", rerun_reads_ok),
    ]


def manifest_verdicts(result: dict) -> list[Verdict]:
    return [
        Verdict(f"{result['rows']:,}-row manifest: parse + checks", f"{result['total_seconds']:.1f} s",
                f"< {MANIFEST_SECONDS_MAX:g} s", result["total_seconds"] < MANIFEST_SECONDS_MAX),
        Verdict(f"{result['rows']:,}-row manifest: peak RSS", f"{result['peak_rss_mib']:.0f} MiB",
                f"< {MANIFEST_RSS_MIB_MAX:g} MiB", result["peak_rss_mib"] < MANIFEST_RSS_MIB_MAX),
    ]
