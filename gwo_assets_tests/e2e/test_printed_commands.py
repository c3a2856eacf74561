"""Every launch command `python -m gwo_assets.sandbox up` (so `make sandbox`) prints, and
writes into the header of its run.yaml, works when pasted: run from the repository, in the
order printed, each exits 0 with a successful dry run (issue 21 item 9: the printed `dg launch
--job ingest_gwo --config .sandbox/run.yaml` exited 1, no partition)."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gwo_assets_tests.e2e.conftest import REPO

pytestmark = pytest.mark.e2e
BIN = Path(sys.executable).parent


def printed_commands(text: str) -> list[str]:
    """The shell commands in the sandbox's launch instructions, in order."""
    return [match.group(1).strip() for match in re.finditer(
        r"(DAGSTER_HOME=\S+ AWS_ACCESS_KEY_ID=\S+ AWS_SECRET_ACCESS_KEY=\S+ \S+ .*)", text)]


def as_pasted(command: str, home: Path) -> str:
    """The command as a user's shell at the repository root runs it: `.venv/bin/` is this
    environment's bin folder (a worktree shares one venv), `$PWD/.dagster_home` a fresh one."""
    return (command.replace("DAGSTER_HOME=$PWD/.dagster_home", f"DAGSTER_HOME={home}")
            .replace(".venv/bin/", f"{BIN}/"))


def test_every_command_make_sandbox_prints_works_when_pasted(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "KF_", "DAGSTER_"))}
    stderr = tmp_path / "sandbox.log"
    with open(stderr, "w") as log:
        sandbox = subprocess.Popen(
            [sys.executable, "-m", "gwo_assets.sandbox", "up", "--specimens", "4", "--seed", "7",
             "--workdir", str(tmp_path / "sandbox")],
            stdout=subprocess.PIPE, stderr=log, text=True, cwd=REPO, env=env)
        try:
            info = json.loads(sandbox.stdout.readline())
            deadline = time.monotonic() + 60  # the instructions follow the JSON line
            while "sandbox ready" not in stderr.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            printed = stderr.read_text()
            header = Path(info["run_config"]).read_text().split("resources:", 1)[0]
            commands = printed_commands(printed)
            assert len(commands) == 2, printed
            assert printed_commands(header) == commands
            for command in commands:
                done = subprocess.run(["bash", "-c", as_pasted(command, home)], cwd=REPO, env=env,
                                      capture_output=True, text=True, timeout=600)
                assert done.returncode == 0, (command, done.stdout[-2000:], done.stderr[-3000:])
                assert "GWO ingest SUCCESS (dry run)" in done.stdout + done.stderr, command
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=30)
