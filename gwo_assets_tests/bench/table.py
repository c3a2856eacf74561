"""Plain-text tables of the benchmark's results (what ``make bench`` prints)."""

from __future__ import annotations

from collections.abc import Sequence

from gwo_assets_tests.bench.pipeline_run import LOAD_ASSETS, PipelineRun
from gwo_assets_tests.bench.runner import SizeResult
from gwo_assets_tests.bench.targets import Verdict

# Step keys grouped by what they spend time on; the first matching phase wins.
PHASES = (
    ("GX suites (4 checks)", lambda key: key.endswith("_suite")),
    ("manifest read + row checks", lambda key: key.startswith("gwo_manifest")),
    ("S3 scrape + check", lambda key: key.startswith("harmonized_file_s3_metadata")),
    ("study bulk reads", lambda key: key == "kf_study" or (
        key.startswith("study_") and key != "study_source_files")),
    ("external_id look-ups (existing_harmonized_files)",
     lambda key: key == "existing_harmonized_files"),
    ("writes (3 load steps)", lambda key: key in LOAD_ASSETS),
    ("read-back reconciliation", lambda key: key.endswith("load_matches_plan")),
    ("joins, plans, other checks, report", lambda key: True),
)


def render(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to fit; the first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in headers]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for number, row in enumerate(cells):
        lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                               for i, cell in enumerate(row)))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def study_block(result: SizeResult) -> str:
    """Everything measured at one size: study, steps, requests, floor, naive, verdicts."""
    s = result.study
    header = (f"== {s.files:,} harmonized files ({s.specimens:,} specimens, {s.manifest_rows:,} "
              f"manifest rows, T = {s.total_table_rows:,} rows in the four study tables before "
              f"the fresh load, {s.rerun_total_table_rows:,} before the rerun; "
              f"built in {s.build_seconds:.0f} s; DataService latency {s.latency_ms} ms, holding "
              f"{s.dataservice_files:,} other studies' files; load average {result.load_average[0]:.1f} -> "
              f"{result.load_average[1]:.1f})")
    return "\n\n".join([header, phases_table(result), steps_table(result), requests_table(result),
                        resources_table(result), floor_table(result), naive_line(result),
                        verdict_table(result.verdicts)])


def phase_seconds(run: PipelineRun) -> dict[str, float]:
    """Step wall time summed per phase, plus what no step accounts for (Dagster itself)."""
    totals = dict.fromkeys([name for name, _ in PHASES], 0.0)
    for key, seconds in run.steps.items():
        totals[next(name for name, matches in PHASES if matches(key))] += seconds
    totals["between steps (Dagster)"] = run.seconds - sum(run.steps.values())
    return totals


UNATTRIBUTED = "(no step metadata: kf_study, read-back)"


def phase_requests(run: PipelineRun) -> dict[str, int]:
    """DataService requests per phase, from each step's metadata; the rest (steps that
    attach none, such as the read-back check) on a line of its own."""
    totals = dict.fromkeys([name for name, _ in PHASES], 0)
    for key, count in run.step_requests.items():
        totals[next(name for name, matches in PHASES if matches(key))] += count
    totals[UNATTRIBUTED] = run.total_requests - sum(totals.values())
    return totals


def phases_table(result: SizeResult) -> str:
    fresh, rerun = phase_seconds(result.fresh), phase_seconds(result.rerun)
    fresh_req, rerun_req = phase_requests(result.fresh), phase_requests(result.rerun)
    floor = result.floor.seconds_for(result.fresh.writes)
    names = list(fresh) + [UNATTRIBUTED]
    rows = [(name, fresh.get(name, 0.0), f"{fresh.get(name, 0.0) / result.fresh.seconds:.0%}",
             f"{fresh.get(name, 0.0) / floor:.2f}", fresh_req.get(name, ""),
             rerun.get(name, 0.0), rerun_req.get(name, "")) for name in names]
    rows.append(("run wall time", result.fresh.seconds, "100%",
                 f"{result.fresh.seconds / floor:.2f}", result.fresh.total_requests,
                 result.rerun.seconds, result.rerun.total_requests))
    rows.append(("write floor (same writes)", floor, "", "1.00", result.fresh.writes, "", ""))
    writes = fresh["writes (3 load steps)"]
    note = (f"write steps: {result.fresh.writes:,} writes in {writes:.1f} s = "
            f"{result.fresh.writes / max(writes, 1e-9):,.0f} writes/s; the floor loop's best is "
            f"{result.floor.best.rate:,.0f} writes/s")
    return render(("phase", "fresh s", "share", "÷ floor", "fresh requests", "rerun s",
                   "rerun requests"), rows) + "\n" + note


def steps_table(result: SizeResult) -> str:
    fresh, rerun = result.fresh, result.rerun
    rows = [(key, seconds, rerun.steps.get(key, 0.0), f"{seconds / fresh.seconds:.0%}")
            for key, seconds in fresh.steps.items()]
    rows.append(("sum of steps", sum(fresh.steps.values()), sum(rerun.steps.values()), ""))
    rows.append(("run wall time", fresh.seconds, rerun.seconds, "100%"))
    return render(("step (wall s)", "fresh", "rerun", "share"), rows)


def requests_table(result: SizeResult) -> str:
    fresh, rerun, naive = result.fresh.requests, result.rerun.requests, result.naive
    naive_counts = naive.scaled_requests()
    keys = sorted(set(fresh) | set(rerun) | set(naive_counts),
                  key=lambda k: (k.split()[1], k.split()[0]))
    naive_label = "naive (extrapolated)" if naive.sampled else "naive"
    rows = [(key, fresh.get(key, 0), rerun.get(key, 0), naive_counts.get(key, 0)) for key in keys]
    rows.append(("total", sum(fresh.values()), sum(rerun.values()), sum(naive_counts.values())))
    rows.append(("  of which GET /genomic-files?external_id= (look-ups)",
                 result.fresh.external_id_lookups, result.rerun.external_id_lookups, ""))
    rows.append(("writes (server count)", result.fresh.writes, result.rerun.writes,
                 round(naive.measured.writes * naive.scale)))
    s3_fresh, s3_rerun = result.fresh.s3_requests, result.rerun.s3_requests
    for kind in sorted(set(s3_fresh) | set(s3_rerun) | {"HEAD"}):
        rows.append((f"S3 {kind}", s3_fresh.get(kind, 0), s3_rerun.get(kind, 0),
                     naive.total_files if kind == "HEAD" else 0))
    return render(("requests", "fresh", "rerun", naive_label), rows)


def resources_table(result: SizeResult) -> str:
    fresh, rerun = result.fresh, result.rerun
    rows = [
        ("peak RSS of the run's process (MiB)", fresh.peak_rss_mib, rerun.peak_rss_mib),
        ("process ru_maxrss after the run (MiB)", fresh.maxrss_mib, rerun.maxrss_mib),
        ("client CPU s (benchmark process)", fresh.client_cpu_seconds, rerun.client_cpu_seconds),
        ("DataService server CPU s", fresh.server_cpu_seconds, rerun.server_cpu_seconds),
    ]
    return render(("resources", "fresh", "rerun"), rows)


def floor_table(result: SizeResult) -> str:
    floor, writes = result.floor, result.fresh.writes
    rows = [(f"{r.clients} client{'s' if r.clients > 1 else ''}", r.writes, r.seconds, r.rate,
             r.server_cpu_us_per_write, r.client_cpu_us_per_write, writes / r.rate)
            for r in floor.rates]
    table = render(("write floor (file + 2 links)", "writes", "s", "writes/s",
                    "server CPU us/write", "client CPU us/write", f"s for {writes:,} writes"),
                   rows)
    return (f"{table}\nfloor = {writes:,} writes / {floor.best.rate:,.0f} writes/s "
            f"(best, {floor.best.clients} clients) = {floor.seconds_for(writes):.1f} s; "
            f"pipeline fresh load {result.fresh.seconds:.1f} s")


def naive_line(result: SizeResult) -> str:
    naive = result.naive
    measured = naive.measured
    how = (f"on the first {measured.files:,} of {naive.total_files:,} files in {measured.seconds:.1f} s, "
           f"extrapolated linearly x{naive.scale:.1f}" if naive.sampled
           else f"on all {measured.files:,} files")
    return (f"naive sequential loader {how}: {naive.seconds:.1f} s "
            f"(of which S3 HEADs {naive.s3_seconds:.1f} s)")


def verdict_table(verdicts: Sequence[Verdict]) -> str:
    return render(("target", "value", "target", "verdict"),
                  [(v.name, v.value, v.target, v.mark) for v in verdicts])


def summary_table(results: Sequence[SizeResult]) -> str:
    """One line per size: the headline figures and ratios."""
    rows = []
    for r in results:
        floor_seconds = r.floor.seconds_for(r.fresh.writes)
        rows.append((f"{r.study.dataservice_files:,}", f"{r.study.files:,}", r.fresh.seconds, r.rerun.seconds, floor_seconds,
                     f"{r.fresh.seconds / floor_seconds:.2f}",
                     f"{r.naive.seconds:,.0f}{'*' if r.naive.sampled else ''}",
                     f"{r.naive.seconds / r.fresh.seconds:.1f}",
                     f"{r.fresh.total_requests:,}", f"{r.fresh.external_id_lookups:,}", r.rerun.writes, r.rerun.total_requests,
                     f"{r.fresh.peak_rss_mib:.0f}"))
    table = render(("DS other files", "files", "fresh s", "rerun s", "floor s", "pipe/floor", "naive s",
                    "naive/pipe", "DS req fresh", "of which look-ups", "rerun writes", "rerun req",
                    "peak RSS MiB"), rows)
    if any(r.naive.sampled for r in results):
        table += "\n* naive time extrapolated linearly from a sample (see the size's block)"
    return table


def phase_summary(results: Sequence[SizeResult]) -> str:
    """Fresh-load seconds and requests per phase, one column per (study size, DataService size)."""
    seconds = [phase_seconds(r.fresh) for r in results]
    requests = [phase_requests(r.fresh) for r in results]
    names = list(seconds[0]) + [UNATTRIBUTED]
    rows = [(name, *[f"{s.get(name, 0.0):,.1f} s / {q[name]:,}" if name in q
                     else f"{s.get(name, 0.0):,.1f} s" for s, q in zip(seconds, requests)])
            for name in names]
    floors = [r.floor.seconds_for(r.fresh.writes) for r in results]
    rows.append(("run wall time", *[f"{r.fresh.seconds:,.1f} s / {r.fresh.total_requests:,}"
                                    for r in results]))
    rows.append(("write floor", *[f"{f:,.1f} s / {r.fresh.writes:,}"
                                  for f, r in zip(floors, results)]))
    rows.append(("pipeline ÷ floor", *[f"{r.fresh.seconds / f:.2f}"
                                       for f, r in zip(floors, results)]))
    return render(("fresh load phase (s / requests)",
                   *[f"{r.study.files:,} files, DS +{r.study.dataservice_files:,}"
                     for r in results]), rows)


def manifest_block(result: dict) -> str:
    rows = [
        ("imports (dagster, pandas, GX; not timed below)", f"{result['import_seconds']:.1f} s"),
        ("read + normalize + row rules (load_gwo_manifest)", f"{result['parse_validate_seconds']:.1f} s"),
        ("great-expectations manifest suite", f"{result['gx_suite_seconds']:.1f} s"),
        ("parse + all manifest checks", f"{result['total_seconds']:.1f} s"),
        ("RSS after imports", f"{result['baseline_rss_mib']:.0f} MiB"),
        ("peak RSS (ru_maxrss)", f"{result['peak_rss_mib']:.0f} MiB"),
        ("peak traced heap: parse / GX suite", f"{result['traced_parse_peak_mib']:.0f} / "
                                              f"{result['traced_gx_peak_mib']:.0f} MiB"),
        ("issues found (rows / GX)", f"{result['row_issues']} / {result['gx_issues']}"),
    ]
    return (f"== {result['rows']:,}-row manifest, parse + checks (own process)\n\n"
            + render(("phase", "value"), rows))
