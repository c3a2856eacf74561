"""A ready ingest_gwo run config for a running sandbox: examples/sandbox_run.yaml filled in.

``python -m gwo_assets.sandbox up`` (so ``make sandbox``) writes one beside the manifest, and
``make demo`` renders its dry and real runs from the same template, so the example, the
walk-through in the README and the demo cannot drift apart.
"""

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "sandbox_run.yaml"
SANDBOX_ENV = "DAGSTER_HOME=$PWD/.dagster_home AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"


def render_run_config(info: dict[str, Any], *, dry_run: bool = True,
                      report_dir: str | Path | None = None) -> dict[str, Any]:
    """examples/sandbox_run.yaml with this sandbox's study, manifest and URLs filled in.

    ``report_dir`` defaults to ``reports`` beside the manifest; every path is absolute, so the
    config works from any directory (the web server's runs start in their own processes).
    """
    config = yaml.safe_load(EXAMPLE.read_text())
    resources = config["resources"]
    workdir = Path(info["workdir"]) if info.get("workdir") else Path(info["manifest"]).parent
    resources["ingest"]["config"].update(
        study_id=info["study_id"], manifest=str(Path(info["manifest"]).resolve()),
        dry_run=dry_run, report_dir=str(Path(report_dir or workdir / "reports").resolve()))
    resources["dataservice"]["config"]["url"] = info["dataservice_url"]
    resources["s3"]["config"]["endpoint_url"] = info["s3_endpoint_url"]
    return config


def launch_commands(path: Path, info: dict[str, Any]) -> list[str]:
    """The shell commands that launch the written config, from the repository, in the order
    to paste them: ``gwo ingest`` (checks the study, registers its partition, runs), then
    ``dg launch`` (which needs that partition to exist). Each works as printed; a test runs
    them (gwo_assets_tests/e2e/test_printed_commands.py)."""
    shown, study = _relative(path), info["study_id"]
    manifest = _relative(Path(info["manifest"]))
    return [f"{SANDBOX_ENV} .venv/bin/gwo ingest {study} {manifest} --config {shown}",
            f"{SANDBOX_ENV} .venv/bin/dg launch --job ingest_gwo --partition {study} "
            f"--config {shown}"]


def launch_instructions(path: Path, info: dict[str, Any]) -> str:
    """How to launch the written config, from the repository: in the UI and on the CLI."""
    shown = _relative(path)
    gwo, dg = launch_commands(path, info)
    return (f"Run config for this sandbox (a dry run): {shown}\n"
            f"  UI:  make ui (another terminal), open http://127.0.0.1:3000, Jobs > ingest_gwo > "
            f"Launchpad, paste the contents of {shown}, Launch Run\n"
            f"  CLI: {gwo}\n"
            f"  then, once a run registered the study's partition (the line above does): {dg}\n"
            f"  Write for real: add --write to the gwo line, or set dry_run: false in a copy of "
            f"{shown}.")


def write_run_config(path: Path, info: dict[str, Any]) -> Path:
    """Write the dry-run config for the sandbox ``info`` describes to ``path``."""
    header = (f"# ingest_gwo dry-run config written by `python -m gwo_assets.sandbox up` for the\n"
              f"# sandbox it started: study {info['study_id']}, DataService "
              f"{info['dataservice_url']},\n# S3 {info['s3_endpoint_url']}. Valid while that "
              f"sandbox runs.\n"
              + "".join(f"# {line.strip()}\n"
                        for line in launch_instructions(path, info).splitlines()[1:]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(render_run_config(info), sort_keys=False))
    return path


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
