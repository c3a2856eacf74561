"""What the external_id look-ups cost, and what makes them cheap (issue 20).

The DataService has no index on ``genomic_file.external_id`` and counts every list
request's matches, so each ``GET /genomic-files?external_id=`` scans the table twice:
~9 ms on an empty DataService, ~130 ms at 1 M files. Nothing else in its API proves a
Filepath unregistered (``kf_id=`` as a list filter is a 500, a link-less file is invisible
to ``?study_id=``), so a run without indexd keeps them and says what they cost.
"""

import statistics

SLOW_LOOKUP_MS = 50.0  # several times an empty DataService's ~9 ms: the table is big
FIRST_ADVICE_AFTER = 20  # look-ups measured before the run says anything

INDEX = "ask the DataService's operator for `CREATE INDEX ON genomic_file (external_id);`"
CHEAPER = ("configure indexd ($GEN3_INDEXD_URL, the `indexd` resource: one indexed "
           "GET /index/?url= per new file instead of the scan), or " + INDEX)


def is_checkpoint(done: int) -> bool:
    """Whether to judge the cost after ``done`` look-ups: 20, 40, 80, ... (cheap at any size)."""
    rounds, rest = divmod(done, FIRST_ADVICE_AFTER)
    return rest == 0 and rounds > 0 and rounds & (rounds - 1) == 0


def lookup_cost(milliseconds: list[float], remaining: int, concurrency: int) -> dict:
    """Median and 95th percentile of the look-ups so far, and a rough wait for the rest."""
    if not milliseconds:
        return {"lookups": 0, "median_ms": None, "p95_ms": None, "remaining_seconds": None}
    ordered = sorted(milliseconds)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"lookups": len(ordered), "median_ms": round(median, 1), "p95_ms": round(p95, 1),
            "remaining_seconds": round(remaining * median / 1000 / max(concurrency, 1), 1)}


def slow_lookup_advice(milliseconds: list[float], remaining: int, concurrency: int,
                       indexd_configured: bool = False) -> str | None:
    """One sentence when the look-ups are slow enough that the DataService is big and
    unindexed (None before ``FIRST_ADVICE_AFTER`` of them, or when they are cheap). With
    indexd configured the scans left are the files indexd holds a record of and the study's
    files this run would change: only the index makes those cheap, and fewer may be left."""
    if len(milliseconds) < FIRST_ADVICE_AFTER:
        return None
    cost = lookup_cost(milliseconds, remaining, concurrency)
    if cost["median_ms"] < SLOW_LOOKUP_MS:
        return None
    head = (f"external_id look-ups are slow: median {cost['median_ms']:.0f} ms, p95 "
            f"{cost['p95_ms']:.0f} ms over {cost['lookups']} (each scans the DataService's "
            f"genomic_file table, which has no index on external_id); ")
    if indexd_configured:
        return (head + f"at most {remaining} left (indexd settles the files it holds no "
                f"record of). To make them cheap: {INDEX}")
    return (head + f"about {cost['remaining_seconds']:.0f} s more for the {remaining} left. "
            f"To make them cheap: {CHEAPER}")
