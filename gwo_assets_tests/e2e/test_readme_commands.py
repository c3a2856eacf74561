"""The README is true: every command it shows that can run on the sandbox runs, as pasted, and
does what the README says (issue 22).

The commands are read from README.md itself (its ```bash blocks, its ```yaml run configs and
the commands quoted inline in its prose), so the test follows the README when it changes. Each
command is either run (``STEPS``: which step of the README's story it is) or excluded with a
reason (``EXCLUDED``); a command in neither fails the test, so nothing new goes untested
silently. That check and the first screen's (``make demo``, ``make test``) need no sandbox:
they run in ``make test`` as well; running the commands is the e2e test.

The commands run from a scratch copy of the repository root (its files linked, ``.venv`` the
venv running this test, no ``.dagster_home`` or ``reports`` of its own yet), so ``$PWD``,
``.venv/bin/``, ``reports/`` and ``run.yaml`` mean there what they mean in a clone, and nothing
is left in the worktree. The environment is a clean one with the sandbox's S3 as the boto3
chain would give it (dummy keys, ``AWS_ENDPOINT_URL_S3``); the README's own ``export`` and
``source`` lines set the rest. Only placeholders are replaced: the study ids, the s3:// bucket
(the sandbox's manifest is uploaded to the key the README names), the DataService URL, the
token ``...``, the plan ``ID`` and ``<run_id>``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests
import yaml
from dagster import DagsterInstance

from gwo_assets.sandbox.stack import SandboxStack
from gwo_assets_tests.e2e.conftest import REPO

README = REPO / "README.md"
TOKEN = "readme-token-never-printed"

# What the README's placeholders stand for (the values come from the sandbox and earlier steps).
STUDY_PLACEHOLDERS = ("SD_ABCD1234", "SD_XXXXXXXX")
DATASERVICE_PLACEHOLDER = "https://kf-api-dataservice.example.org"
BUCKET_PLACEHOLDER = re.compile(r"s3://[^/\s]+/")

# The README commands this test does not run, each with why. Exact text (comments stripped,
# whitespace collapsed): a changed command must be classified again.
EXCLUDED = {
    "make demo": "the whole demo on its own sandbox (fixed ports 5055/5056), minutes; the "
                 "steps it shows are the ones this test runs",
    "make test": "the fast suite: CI's first command (.ci/run); running it here would recurse",
    "make test-e2e": "the end-to-end suite this test is part of: CI's last command (.ci/run)",
    "make install": "builds .venv and .dagster_home: CI's make test runs it; this test runs "
                    "in that venv and does its .dagster_home part (copies dagster.yaml)",
    "make sandbox": "serves until Ctrl-C on fixed ports; what it prints is run by "
                    "test_printed_commands.py, with make ui by test_ui_walkthrough.py",
    "make ui": "serves the UI until Ctrl-C: test_ui_walkthrough.py follows the walk-through",
    "make bench": "the benchmarks: minutes, not part of make test",
    "gwo ingest": "names the command in prose; its full forms are in the code blocks",
    "dagster job execute": "names the command in prose; its full form is in a code block",
    "dg launch": "names the command in prose; its full forms are in the code blocks",
    "dg launch --partition": "names an option in prose; the full command is in a code block",
    ".venv/bin/...": "stands for any command run from the venv, not a command",
    "pip install '.[deploy]'": "deployment: installs packages (into the shared venv here); "
                               "the PostgreSQL instance is tested by "
                               "deployment/test_postgres_instance.py",
    "dagster instance migrate": "deployment: against the PostgreSQL instance of "
                                "deploy/dagster.yaml (deployment/test_postgres_instance.py)",
    "dagster-webserver": "deployment: a long-running server (test_webserver_graphql.py)",
    "dagster-daemon": "deployment: a long-running daemon, needs the PostgreSQL instance",
}

# The README commands this test runs: the step each one is, by pattern. Steps run in the order
# of the README's story: environment, dry run, plan and apply, the same run with Dagster's own
# commands, the drift audit of the loaded study, undo, the partition removed.
VENV = r"(?:\.venv/bin/)?"
STEPS = {
    "env": re.compile(r"^(?:export [A-Z_]+=\S+|source \.venv/bin/activate)$"),
    "dry_run": re.compile(rf"^{VENV}gwo ingest (?!.*--write)\S"),
    "write": re.compile(rf"^{VENV}gwo ingest .*--write"),
    "dagster_execute": re.compile(rf"^{VENV}dagster job execute .*-j ingest_gwo"),
    "dg_launch_ingest": re.compile(rf"^{VENV}dg launch --job ingest_gwo "),
    "audit": re.compile(rf"^{VENV}gwo audit \S"),
    "undo": re.compile(rf"^{VENV}dg launch --job undo_gwo "),
    "remove_partition": re.compile(rf"^{VENV}gwo remove-partition \S"),
}
# The README's yaml blocks, each headed `# <file>`: the run configs its commands name, and the
# job each is for.
RUN_CONFIGS = {"run.yaml": "ingest_gwo", "undo.yaml": "undo_gwo"}
COMMAND_WORDS = {"make", "gwo", "dg", "dagster", "dagster-webserver", "dagster-daemon", "pip",
                 "python", "python3", "source", "export", "cp", "mkdir", "cd"}


# ---------------------------------------------------------------- reading the README

FENCE = re.compile(r"^([ \t]*)```(\w*)[ \t]*\n(.*?)^[ \t]*```[ \t]*$", re.S | re.M)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, dedented body) of each fenced code block, in order."""
    return [(m.group(2), textwrap.dedent(m.group(3))) for m in FENCE.finditer(text)]


def strip_comment(line: str) -> str:
    """The line without its shell comment (a `#` starting a word, outside quotes)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def shell_commands(body: str) -> list[str]:
    """A bash block's commands: continuation lines joined, comments stripped."""
    commands, current = [], ""
    for raw in body.splitlines():
        line = strip_comment(raw)
        if line.endswith("\\"):
            current += line[:-1].rstrip() + " "
            continue
        current += line.strip()
        if current.strip():
            commands.append(" ".join(current.split()))
        current = ""
    if current.strip():
        commands.append(" ".join(current.split()))
    return commands


def inline_commands(text: str) -> list[str]:
    """The commands quoted in the prose (`...` spans, also across a line break) that start
    with a command word or `.venv/bin/`."""
    prose = FENCE.sub("", text)
    found = []
    for span in re.findall(r"`([^`]+)`", prose):
        command = " ".join(span.split())
        first = command.split(" ", 1)[0]
        if first in COMMAND_WORDS or first.startswith(".venv/bin/"):
            found.append(command)
    return found


def readme_commands(text: str) -> list[str]:
    """Every command the README shows, in order of first appearance, without repeats: the
    bash blocks' first, then the inline ones (which the steps' order does not depend on)."""
    commands = [c for language, body in fenced_blocks(text) if language in ("bash", "sh", "")
                for c in shell_commands(body)]
    return list(dict.fromkeys(commands + inline_commands(text)))


def run_configs(text: str) -> dict[str, str]:
    """The yaml blocks by the file their first line names (`# run.yaml`)."""
    configs = {}
    for language, body in fenced_blocks(text):
        if language not in ("yaml", "yml"):
            continue
        match = re.match(r"#\s*(\S+\.ya?ml)\s*\n", body)
        assert match, f"a README yaml block does not start with `# <file>.yaml`:\n{body}"
        configs[match.group(1)] = body
    return configs


def classify(commands: list[str]) -> tuple[dict[str, list[str]], list[str]]:
    """The runnable commands by step (README order within a step) and the unclassified ones."""
    steps: dict[str, list[str]] = {step: [] for step in STEPS}
    unknown = []
    for command in commands:
        matched = [step for step, pattern in STEPS.items() if pattern.search(command)]
        if command in EXCLUDED:
            matched.append("excluded")
        if len(matched) != 1:
            unknown.append(f"{command!r} matches {matched or 'nothing'}")
        elif matched[0] != "excluded":
            steps[matched[0]].append(command)
    return steps, unknown


# ---------------------------------------------------------------- the checks without a sandbox


# Not e2e: they run in `make test` too, so an unclassified README command fails there at once.


def test_the_readme_first_screen_names_make_demo_and_make_test():
    first_screen = "\n".join(README.read_text().splitlines()[:25])
    assert "make demo" in first_screen and "make test" in first_screen


def test_every_readme_command_is_run_or_excluded_with_a_reason():
    text = README.read_text()
    commands = readme_commands(text)
    steps, unknown = classify(commands)
    assert not unknown, ("README commands this test neither runs nor excludes (add each to "
                         f"STEPS or to EXCLUDED with a reason): {unknown}")
    assert set(EXCLUDED) <= set(commands), ("EXCLUDED names commands the README no longer "
                                            f"shows: {sorted(set(EXCLUDED) - set(commands))}")
    for step in ("dry_run", "write", "dagster_execute", "dg_launch_ingest", "audit", "undo"):
        assert steps[step], f"the README shows no command for the step {step}"
    configs = run_configs(text)
    assert set(configs) == set(RUN_CONFIGS), sorted(configs)
    for name, job in RUN_CONFIGS.items():  # each run config is used by a command the test runs
        assert any(re.search(rf"(?:-c|--config) {re.escape(name)}(?:\s|$)", c) and job in c
                   for found in steps.values() for c in found), (name, job)


# ---------------------------------------------------------------- running them on a sandbox


@pytest.fixture
def sandbox(tmp_path):
    with SandboxStack(specimens=12, seed=23, workdir=tmp_path / "sandbox", token=TOKEN) as stack:
        yield stack


def scratch_clone(tmp_path: Path) -> Path:
    """The repository root as a clone has it after `make install`'s venv: every file linked,
    `.venv` this test's venv, nothing generated (`.dagster_home`, `reports`, `.sandbox`)."""
    root = tmp_path / "clone"
    root.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {".git", ".venv", ".dagster_home", "reports", ".sandbox",
                              ".pytest_cache", "run.yaml", "undo.yaml"}:
            (root / entry.name).symlink_to(entry)
    (root / ".venv").symlink_to(Path(sys.prefix))
    return root


class Session:
    """A user's shell at the clone's root: the README's exports and `source` persist."""

    def __init__(self, root: Path, env: dict[str, str], values: dict[str, str]):
        self.root, self.env, self.values = root, env, values
        self.log: list[str] = []
        self.stdout = ""

    def pasted(self, text: str) -> str:
        """``text`` with the README's placeholders replaced by the sandbox's values."""
        for placeholder in STUDY_PLACEHOLDERS:
            text = text.replace(placeholder, self.values["study"])
        text = text.replace(DATASERVICE_PLACEHOLDER, self.values["dataservice_url"])
        text = BUCKET_PLACEHOLDER.sub(f"s3://{self.values['bucket']}/", text)
        if "plan" in self.values:
            text = re.sub(r"\bID\b", self.values["plan"], text)
        if "run_id" in self.values:
            text = text.replace("<run_id>", self.values["run_id"])
        return text

    def set_env(self, command: str) -> None:
        """Run an `export`/`source` line in bash and keep the environment it leaves."""
        pasted = self.pasted(command)
        if re.fullmatch(r"export KF_DATASERVICE_TOKEN=\.\.\.", pasted):
            pasted = f"export KF_DATASERVICE_TOKEN={TOKEN}"  # `...`: the sandbox's token
        done = subprocess.run(["bash", "-c", f"{pasted} && env -0"], cwd=self.root,
                              env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (command, done.stderr)
        self.env = dict(line.split("=", 1) for line in done.stdout.split("\0") if "=" in line)
        self.log.append(f"{command}: ok")

    def run(self, command: str, expect: int = 0) -> str:
        """Run ``command`` as pasted; its stdout and stderr, after checking its exit code."""
        pasted = self.pasted(command)
        started = time.monotonic()
        done = subprocess.run(["bash", "-c", pasted], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=600)
        output = done.stdout + done.stderr
        self.stdout = done.stdout
        self.log.append(f"{command}: exit {done.returncode} ({time.monotonic() - started:.0f} s)")
        assert done.returncode == expect, (pasted, done.stdout[-3000:], done.stderr[-3000:])
        assert TOKEN not in output, pasted
        return output

    def write_config(self, name: str, body: str) -> None:
        (self.root / name).write_text(self.pasted(body))


def harmonized_files_in_dataservice(stack: SandboxStack) -> int:
    """How many of the study's harmonized files the DataService holds (by external_id)."""
    held = 0
    for harmonized in stack.study.harmonized:
        answer = requests.get(f"{stack.dataservice.url}/genomic-files",
                              params={"external_id": harmonized.filepath},
                              headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        answer.raise_for_status()
        held += answer.json()["total"]
    return held


def printed(pattern: str, stdout: str) -> str:
    match = re.search(pattern, stdout, re.M)
    assert match, (pattern, stdout[-2000:])
    return match.group(1)


@pytest.mark.e2e
def test_every_runnable_readme_command_works_when_pasted(sandbox, tmp_path):
    test_the_readme_first_screen_names_make_demo_and_make_test()
    test_every_readme_command_is_run_or_excluded_with_a_reason()
    text = README.read_text()
    steps, _ = classify(readme_commands(text))
    configs = run_configs(text)
    stack, study = sandbox, sandbox.study.study_id
    root = scratch_clone(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KF_", "DAGSTER_"))}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",  # the boto3 chain
               AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL_S3=stack.info["s3_endpoint_url"])
    shell = Session(root, env, {"study": study, "dataservice_url": stack.dataservice.url,
                                "bucket": stack.bucket})
    # The manifest at the s3:// URIs the README names (the bucket replaced by the sandbox's).
    s3 = stack.s3.client()
    for uri in set(re.findall(r"s3://\S+?\.(?:tsv|csv|xlsx)\b", shell.pasted(text))):
        bucket, key = uri[len("s3://"):].split("/", 1)
        if bucket == stack.bucket:
            s3.put_object(Bucket=bucket, Key=key, Body=stack.study.manifest.read_bytes())
    n_files = len(stack.study.harmonized)

    # Install: `make install`'s .dagster_home (dagster.yaml copied), then the exports/source.
    (root / ".dagster_home").mkdir()
    shutil.copy(REPO / "dagster.yaml", root / ".dagster_home" / "dagster.yaml")
    for command in steps["env"]:
        shell.set_env(command)
    assert shell.env.get("DAGSTER_HOME") == str(root / ".dagster_home"), shell.log
    assert shell.env.get("KF_DATASERVICE_URL") == stack.dataservice.url, shell.log

    # Dry run: exit 0, nothing written, a plan id printed.
    stack.dataservice.reset_counts()
    for command in steps["dry_run"]:
        out = shell.run(command)
        assert f"GWO ingest SUCCESS (dry run) for {study}" in out
        shell.values["plan"] = printed(r"^Plan: (\S+) ", out)
        last = shell.stdout.splitlines()[-2:]  # the report's path, then how to load the plan
        assert re.fullmatch(r"Report: reports/\S+/report\.md", last[0]), last
        assert last[1].startswith(f"To load it: gwo ingest {study} ") and \
            last[1].endswith(f" --write --plan {shell.values['plan']}"), last
    assert stack.dataservice.write_count() == 0
    assert harmonized_files_in_dataservice(stack) == 0

    # Plan and apply: the reviewed plan written, every harmonized file now in the DataService.
    for command in steps["write"]:
        out = shell.run(command)
        assert f"GWO ingest SUCCESS (real run) for {study}" in out
        shell.values["run_id"] = printed(r"^Report JSON: reports/([^/\s]+)/report\.json$", out)
        assert shell.stdout.splitlines()[-1] == \
            f"Report: reports/{shell.values['run_id']}/report.md"
    assert harmonized_files_in_dataservice(stack) == n_files

    # The same run with Dagster's own commands and run.yaml: `ID` is the plan of the dry run
    # before it (the README's dry-run command again: the study is loaded now, so the plan is
    # to write nothing); each exits 0 and duplicates nothing.
    out = shell.run(steps["dry_run"][-1])
    shell.values["plan"] = printed(r"^Plan: (\S+) ", out)
    shell.write_config("run.yaml", configs["run.yaml"])
    assert yaml.safe_load((root / "run.yaml").read_text())["resources"]["ingest"]["config"][
        "approved_plan"] == shell.values["plan"]
    stack.dataservice.reset_counts()
    for command in steps["dagster_execute"] + steps["dg_launch_ingest"]:
        assert "GWO ingest SUCCESS (real run)" in shell.run(command), command
    assert stack.dataservice.write_count() == 0
    assert harmonized_files_in_dataservice(stack) == n_files

    # The drift audit of the loaded, undrifted study: exit 0.
    for command in steps["audit"]:
        out = shell.run(command)
        assert int(printed(rf"^GWO audit OK for {study}: all (\d+) audited files agree", out)) \
            == n_files

    # Undo the real run from its report: the files it created are gone.
    shell.write_config("undo.yaml", configs["undo.yaml"])
    assert (root / "reports" / shell.values["run_id"] / "report.json").is_file()
    for command in steps["undo"]:
        out = shell.run(command)
        assert f"'genomic_files': {{'deleted': {n_files}, 'restored': 0" in out, out[-3000:]
    assert harmonized_files_in_dataservice(stack) == 0

    # The study's partition removed from the instance.
    for command in steps["remove_partition"]:
        shell.run(command)
    with DagsterInstance.from_config(str(root / ".dagster_home")) as instance:
        assert study not in instance.get_dynamic_partitions("gwo_study")
    print("\n".join(shell.log))
