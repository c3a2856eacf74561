"""docs/reference.md's table of asset checks is the code location's: the same checks on the same
assets, with the same blocking flag, and the README stays short, its first screen naming the two
commands a new user runs."""

from pathlib import Path

from gwo_assets.definitions import defs

REPO = Path(__file__).resolve().parents[1]


def documented_checks() -> dict[tuple[str, str], dict[str, str]]:
    """The rows of the table under `## Asset checks` in docs/reference.md, by (asset, check)."""
    section = (REPO / "docs" / "reference.md").read_text().split("\n## Asset checks\n", 1)[1]
    lines = [line for line in section.split("\n## ", 1)[0].splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[2:]:
        row = dict(zip(header, (cell.strip().strip("`") for cell in line.strip("|").split("|"))))
        rows[(row["asset"], row["check"])] = row
    return rows


def defined_checks() -> dict[tuple[str, str], bool]:
    graph = defs.resolve_asset_graph()
    return {(key.asset_key.to_user_string(), key.name): graph.get_check_spec(key).blocking
            for key in graph.asset_check_keys}


def test_the_documented_check_table_lists_exactly_the_defined_checks():
    documented, defined = documented_checks(), defined_checks()
    assert set(documented) == set(defined), (
        f"documented only: {sorted(set(documented) - set(defined))}; "
        f"defined only: {sorted(set(defined) - set(documented))}")
    for key, blocking in defined.items():
        assert documented[key]["blocking"] == ("yes" if blocking else "no"), key
        assert documented[key]["fails with"].split(";")[0] in ("ERROR", "WARN"), key


def test_the_documented_jobs_are_the_jobs_that_run_each_check():
    jobs = {row["job"] for row in documented_checks().values()}
    assert jobs == {"ingest_gwo", "audit_gwo"}
    for job_name in jobs:
        job = defs.resolve_job_def(job_name)
        selected = {(key.asset_key.to_user_string(), key.name)
                    for key in job.asset_layer.asset_graph.asset_check_keys}
        documented = {key for key, row in documented_checks().items() if row["job"] == job_name}
        assert documented <= selected, (job_name, sorted(documented - selected))


def test_the_readme_is_short_and_its_first_screen_names_make_demo_and_make_test():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) < 250
    first_screen = "\n".join(lines[:30])
    assert "make demo" in first_screen and "make test" in first_screen
