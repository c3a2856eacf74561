"""The repository stands on its own: no code, test, doc or config names a path outside it.

A bare clone with nothing beside it must test, demo and run as documented, so nothing may
point at a sibling folder (a parent-relative path), at one machine's absolute paths, or climb out of
the repository from ``__file__`` (``Path(__file__).parents[N]`` past the repository root).
"""

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SKIPPED_DIRS = {".git", ".venv", ".dagster_home", ".sandbox", "reports", "__pycache__",
                "node_modules", ".pytest_cache"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".yaml", ".yml", ".cfg", ".ini", ".txt", ".json",
                 ".tsv", ".csv", ".sh", ""}
# A path token starts at the beginning of a line or after a space, quote, backtick, bracket
# or `=`, so a kf_id or S3 key with parent steps inside (injection tests) is not a path here.
START = r"(?:^|(?<=[\s\"'`(\[=,]))"
PARENT_PATH = re.compile(START + r"((?:\.\./)+[^\s\"'`)\]]*)", re.MULTILINE)
MACHINE_PATH = re.compile(START + r"(/(?:work|home|root|Users|mnt|srv|opt|scratch)/[^\s\"'`)]*)",
                          re.MULTILINE)
FILE_PARENTS = re.compile(r"__file__\)(?:\.resolve\(\))?\.parents\[(\d+)\]")


def repository_files() -> list[Path]:
    """Tracked and new files (git ls-files) when this is a git checkout, else a walk of the tree."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], cwd=REPO, capture_output=True,
                                check=True).stdout.decode()
        files = [REPO / name for name in listed.split("\0") if name]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for root, dirs, names in os.walk(REPO):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith(".egg-info")]
            files += [Path(root) / name for name in names]
    return [path for path in files
            if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name == "Makefile")]


def outside_paths(path: Path, text: str) -> list[str]:
    found = []
    for match in PARENT_PATH.finditer(text):
        target = (path.parent / match.group(1)).resolve()
        if not target.is_relative_to(REPO):
            found.append(match.group(1))
    found += [match.group(1) for match in MACHINE_PATH.finditer(text)]
    depth = len(path.relative_to(REPO).parts) - 1  # parents[depth] is the repository root
    found += [match.group(0) for match in FILE_PARENTS.finditer(text)
              if int(match.group(1)) > depth]
    return found


def test_no_file_names_a_path_outside_the_repository():
    files = repository_files()
    assert len(files) > 50, "the repository's files were not found"
    offenders = {}
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if found := outside_paths(path, text):
            offenders[str(path.relative_to(REPO))] = found
    assert not offenders, f"paths outside the repository: {offenders}"


# The probes are assembled from pieces, so this file itself names no outside path.
UP, SIBLING, MACHINE, FILE = "..", "sha" + "red", "/" + "work", "__" + "file__"


def test_the_check_catches_what_it_is_for():
    probe = REPO / "gwo_assets_tests" / "resources" / "probe.py"
    assert outside_paths(probe, f'CONTRACT = "{UP}/{UP}/{UP}/{SIBLING}/contract"\n')
    assert outside_paths(REPO / "README.md", f"see `{UP}/{SIBLING}/dataservice-contract/`")
    assert outside_paths(probe, f'Path("{MACHINE}/{SIBLING}/dataservice-contract")')
    assert outside_paths(probe, f'Path({FILE}).resolve().parents[3] / "{SIBLING}"')
    assert not outside_paths(probe, f'Path({FILE}).resolve().parents[2] / "docs"')
    assert not outside_paths(REPO / "docs" / "x.md", f"[README]({UP}/README.md)")
    assert not outside_paths(probe, f'ds.get("/studies", "SD_{UP}/{UP}/x")')
    assert not outside_paths(probe, f'uri = "s3://bucket/{UP}/gwo-other/secret.cram"')
