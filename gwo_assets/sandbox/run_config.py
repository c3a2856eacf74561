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


def launch_instructions(path: Path) -> str:
    """How to launch the written config, from the repository: in the UI and on the CLI."""
    shown = _relative(path)
    return (f"Run config for this sandbox (a dry run): {shown}\n"
            f"  UI:  make ui (another terminal), open http://127.0.0.1:3000, Jobs > ingest_gwo > "
            f"Launchpad, paste the contents of {shown}, Launch Run\n"
            f"  CLI: {SANDBOX_ENV} .venv/bin/dg launch --job ingest_gwo --config {shown}\n"
            f"  Write for real: set dry_run: false in a copy of it.")


def write_run_config(path: Path, info: dict[str, Any]) -> Path:
    """Write the dry-run config for the sandbox ``info`` describes to ``path``."""
    header = (f"# ingest_gwo dry-run config written by `python -m gwo_assets.sandbox up` for the\n"
              f"# sandbox it started: study {info['study_id']}, DataService "
              f"{info['dataservice_url']},\n# S3 {info['s3_endpoint_url']}. Valid while that "
              f"sandbox runs.\n"
              + "".join(f"# {line.strip()}\n"
                        for line in launch_instructions(path).splitlines()[1:]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(render_run_config(info), sort_keys=False))
    return path


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
