"""docs/errors.md and the README agree with the code: the exit-code tables are the same and
name the codes `gwo` uses, and every documented usage error, run as documented, exits 2 with
exactly the documented message."""

import http.server
import re
import shlex
import threading
from pathlib import Path

import pytest

from gwo_assets import cli

REPO = Path(__file__).resolve().parents[2]
ERRORS_MD = REPO / "docs" / "errors.md"


def section(text: str, heading: str) -> str:
    return text.split(heading, 1)[1].split("\n## ", 1)[0]


def table_after(text: str, header: str) -> list[list[str]]:
    """The rows of the markdown table whose header line starts with ``header``."""
    lines = text.split(header, 1)[1].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def code(cell: str) -> str:
    """The text of a markdown code span (`x` or `` x ``)."""
    match = re.fullmatch(r"(`+)\s?(.*?)\s?\1", cell.strip())
    assert match, cell
    return match.group(2)


def exit_table(text: str) -> dict[str, str]:
    return {code(row[0]): row[1] for row in table_after(text, "| exit | `gwo ingest` ends so")}


def test_the_readme_and_docs_errors_give_the_same_exit_codes_the_cli_uses():
    documented = exit_table(section(ERRORS_MD.read_text(), "## `gwo` exit codes"))
    assert exit_table((REPO / "README.md").read_text()) == documented
    assert set(documented) == {str(cli.EXIT_OK), str(cli.EXIT_FAILED), str(cli.EXIT_USAGE)}
    assert "usage error" in documented[str(cli.EXIT_USAGE)]


def documented_usage_errors() -> list[tuple[str, str, str, str]]:
    rows = table_after(section(ERRORS_MD.read_text(), "## `gwo` exit codes"),
                       "| case | environment | command | message |")
    assert len(rows) >= 8
    return [(case, code(environment) if environment else "", code(command), code(message))
            for case, environment, command, message in rows]


class _NoStudies(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        body = b'{"_status": {"code": 404, "message": "not found"}}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def dataservice_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NoStudies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.parametrize(("case", "environment", "command", "message"),
                         documented_usage_errors(),
                         ids=[row[0].strip("`") for row in documented_usage_errors()])
def test_each_documented_usage_error_exits_2_with_its_message(
        case, environment, command, message, dataservice_url, tmp_path, monkeypatch, capsys):
    (tmp_path / "m.tsv").write_text("Cavatica ID\n")
    (tmp_path / "dagster_home").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("KF_DATASERVICE_URL", dataservice_url)
    monkeypatch.delenv("KF_DATASERVICE_TOKEN", raising=False)
    for assignment in shlex.split(environment):
        name, _, value = assignment.partition("=")
        if value:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    argv = shlex.split(command)
    assert argv[0] == "gwo"
    try:
        code_ = cli.main(argv[1:])
    except SystemExit as exited:  # argparse's own usage errors
        code_ = exited.code
    assert code_ == cli.EXIT_USAGE, case
    last = capsys.readouterr().err.strip().splitlines()[-1]
    pattern = re.escape(message).replace(re.escape("<url>"), re.escape(dataservice_url))
    pattern = re.sub(re.escape(re.escape("<")) + r"[^>]*" + re.escape(re.escape(">")), ".+",
                     pattern)
    assert re.fullmatch(pattern, last), (message, last)
