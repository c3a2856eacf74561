"""The S3 scrape, started early and run beside the DataService reads (issue 20 item 3).

Dagster's in-process executor runs one step at a time, yet the HEADs of the manifest's
objects depend on no DataService read. So the manifest step starts them on a background
thread as soon as it knows the Filepaths (``start``), the study reads and the look-ups run
meanwhile, and ``harmonized_file_s3_metadata`` takes the result (``take``), waiting only
for what is left. The result is the same frame ``scrape_objects`` returns when called in
the step itself: which way it was read never changes a row.

Held by the run's ``S3Resource`` (one instance per run in process): a step executed in
another process, or re-executed alone, finds nothing started and scrapes itself. A scrape
nobody takes (the run stopped at a manifest check) is stopped when the run's resources
are torn down.
"""

import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

Scrape = Callable[..., tuple[pd.DataFrame, dict]]


@dataclass
class BackgroundScrape:
    """One scrape on its own thread: its progress, its outcome, a way to stop it."""

    filepaths: tuple[str, ...]
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    done: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    outcome: Future = field(default_factory=Future)

    def run(self, client: Any, max_workers: int, scrape: Scrape) -> None:
        def count(done: int, _total: int) -> None:
            self.done = done

        try:
            result = scrape(client, self.filepaths, max_workers=max_workers, on_progress=count,
                            stop=self.stop)
        except BaseException as error:  # handed to the step that takes it
            self.finished = time.monotonic()
            self.outcome.set_exception(error)
        else:
            self.finished = time.monotonic()
            self.outcome.set_result(result)

    def wait(self, on_progress: Callable[[int], None], poll_seconds: float = 1.0,
             ) -> tuple[pd.DataFrame, dict]:
        """The scrape's (frame, stats), reporting progress while it runs; raises its error.
        A step interrupted while it waits stops the scrape (no HEAD is queued after it)."""
        try:
            while not self.outcome.done():
                on_progress(self.done)
                futures.wait([self.outcome], timeout=poll_seconds)
            on_progress(self.done)
            return self.outcome.result()
        except BaseException:
            self.stop.set()
            raise


class Prefetches:
    """The background scrapes of one run, keyed by their exact, ordered Filepaths."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scrapes: dict[tuple[str, ...], BackgroundScrape] = {}

    def start(self, scrape: Scrape, client: Any, filepaths: Sequence[str],
              max_workers: int) -> BackgroundScrape:
        key = tuple(filepaths)
        with self._lock:
            if key in self._scrapes:
                return self._scrapes[key]
            background = self._scrapes[key] = BackgroundScrape(key)
        threading.Thread(target=background.run, name="gwo-s3-prefetch", daemon=True,
                         args=(client, max_workers, scrape)).start()
        return background

    def take(self, filepaths: Sequence[str]) -> BackgroundScrape | None:
        """The scrape started for exactly these Filepaths, once; None if none was."""
        with self._lock:
            return self._scrapes.pop(tuple(filepaths), None)

    def stop_all(self) -> None:
        """Stop the scrapes nobody took (their HEADs in flight finish; no new one is sent)."""
        with self._lock:
            scrapes, self._scrapes = list(self._scrapes.values()), {}
        for background in scrapes:
            background.stop.set()
