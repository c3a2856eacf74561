"""Progress lines for long steps: done/total, rate and ETA every few seconds, never per item."""

import threading
import time

from dagster import DagsterLogManager


class Progress:
    """Thread-safe counter that logs at most every ``every_seconds`` (plus a final line)."""

    def __init__(self, log: DagsterLogManager, label: str, total: int | None,
                 every_seconds: float = 5.0, unit: str = "items") -> None:
        self._log = log
        self._label = label
        self._total = total
        self._every = every_seconds
        self._unit = unit
        self._done = 0
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._last_logged = self._started

    @property
    def done(self) -> int:
        return self._done

    def set_total(self, total: int | None) -> None:
        self._total = total

    def advance(self, count: int = 1) -> None:
        with self._lock:
            self._done += count
            now = time.monotonic()
            if now - self._last_logged < self._every:
                return
            self._last_logged = now
            line = self._line(now)
        self._log.info(line)

    def finish(self) -> float:
        """Log the final line; return the elapsed seconds."""
        now = time.monotonic()
        self._log.info(self._line(now, final=True))
        return now - self._started

    def _line(self, now: float, final: bool = False) -> str:
        elapsed = max(now - self._started, 1e-9)
        rate = self._done / elapsed
        total = "?" if self._total is None else str(self._total)
        text = f"{self._label}: {self._done}/{total} {self._unit}, {rate:.0f}/s"
        if final:
            return f"{text}, done in {elapsed:.1f}s"
        if self._total and rate > 0:
            eta = max(self._total - self._done, 0) / rate
            text += f", ETA {eta:.0f}s"
        return text
