"""The sandbox DataService: start a server on loopback, use its URL, stop it."""

import shutil
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType

from gwo_assets.sandbox.dataservice import filler
from gwo_assets.sandbox.dataservice.app import DataServiceApp
from gwo_assets.sandbox.dataservice.faults import FaultConfig, Gate
from gwo_assets.sandbox.dataservice.http11 import HttpServer
from gwo_assets.sandbox.dataservice.store import Store


class SandboxDataService:
    """A local Kids First DataService on SQLite: ``start()``, use ``url``, ``stop()``.

    ``port=0`` picks a free port; ``db_path=None`` uses a temporary database
    that ``stop()`` deletes. Request counts are also served at
    ``GET /_sandbox/stats`` (reset by ``POST /_sandbox/reset-stats``).
    ``filler_files`` other studies' genomic files (with their studies, specimens,
    experiments and links; see ``filler.py``) are put into the new database
    first, copied from a template kept in ``filler_cache`` when given.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, db_path: str | None = None,
                 faults: FaultConfig | None = None, filler_files: int = 0,
                 filler_cache: str | Path | None = None) -> None:
        self.host = host
        self.port = port
        self.db_path = db_path
        self._faults = faults
        self.filler_files = filler_files
        self.filler_cache = filler_cache
        self.filler_seconds = 0.0
        self._temp_dir: str | None = None
        self._store: Store | None = None
        self._server: HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._app: DataServiceApp | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "SandboxDataService":
        if self._server is not None:
            raise RuntimeError("the sandbox DataService is already running")
        if self.db_path is None:
            self._temp_dir = tempfile.mkdtemp(prefix="gwo-sandbox-dataservice-")
            self.db_path = str(Path(self._temp_dir) / "dataservice.sqlite3")
        if self.filler_files:
            self.filler_seconds = filler.prepare(self.db_path, self.filler_files,
                                                 self.filler_cache)
        self._store = Store(self.db_path)
        self._app = DataServiceApp(self._store, self._faults)
        self._server = HttpServer((self.host, self.port), self._respond)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"sandbox-dataservice-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        for gate in self._app.gates.values():
            gate.release()
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join()
        self._store.close()
        self._server = self._thread = self._store = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = self.db_path = None

    def __enter__(self) -> "SandboxDataService":
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def request_counts(self) -> dict[str, int]:
        """Requests received per ``"METHOD /collection"`` (e.g. ``"POST /genomic-files"``)."""
        return self._started_app().stats.request_counts()

    def write_count(self) -> int:
        """POST/PATCH/DELETE requests that changed state."""
        return self._started_app().stats.write_count()

    def unauthorized_count(self) -> int:
        """API requests refused for a missing or wrong bearer token."""
        return self._started_app().stats.unauthorized_count()

    def reset_counts(self) -> None:
        self._started_app().stats.reset()

    def set_faults(self, faults: FaultConfig | None) -> None:
        """Turn fault injection on, off or to another seed while running."""
        self._faults = faults
        self._started_app().set_faults(faults)

    def late_commits_pending(self) -> int:
        """Writes answered with a late-commit fault and not yet carried out."""
        return self._started_app().late_commits_pending()

    def wait_for_late_commits(self, timeout: float = 30.0) -> None:
        """Block until every late commit has landed (tests read the final state after it)."""
        deadline = time.monotonic() + timeout
        while self.late_commits_pending():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.late_commits_pending()} late commits still pending")
            time.sleep(0.05)

    def hold(self, method: str, collection: str) -> Gate:
        """Hold every ``method`` request to ``collection`` (e.g. ``"POST"``,
        ``"/biospecimen-genomic-files"``) until the returned gate is released (or ``stop()``)."""
        gate = Gate()
        self._started_app().gates[f"{method} {collection}"] = gate
        return gate

    def require_token(self, token: str | None) -> None:
        """Answer 401 to every API request without ``Authorization: Bearer <token>``
        (None: no authentication, the default). ``/_sandbox/`` paths stay open."""
        self._started_app().required_token = token

    def _respond(self, method: str, target: str, body: bytes,
                 authorization: str | None = None) -> tuple[int, dict | None]:
        reply = self._app.handle(method, target, body, authorization)
        return reply.status, reply.body

    def _started_app(self) -> DataServiceApp:
        if self._app is None:
            raise RuntimeError("the sandbox DataService was never started: call start()")
        return self._app
