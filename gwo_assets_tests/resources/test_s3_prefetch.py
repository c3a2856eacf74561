"""The background S3 scrape (``resources/s3_prefetch.py``): taken once, by exactly its
Filepaths, its error handed to the step that takes it, stopped when the run ends."""

import threading

import pandas as pd
import pytest

from gwo_assets.errors import S3AccessError
from gwo_assets.resources import s3 as s3_module
from gwo_assets.resources.s3 import S3Resource, ScrapeStopped, scrape_objects
from gwo_assets.resources.s3_prefetch import Prefetches
from gwo_assets_tests.resources.test_s3 import BUCKET, aws_credentials, s3, uri  # noqa: F401


def test_a_started_scrape_is_taken_once_and_only_for_its_own_filepaths(s3):
    for key in ("a", "b"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    prefetches = Prefetches()
    prefetches.start(scrape_objects, s3, [uri("a"), uri("b")], max_workers=2)

    assert prefetches.take([uri("a")]) is None  # other Filepaths: the step scrapes itself
    background = prefetches.take([uri("a"), uri("b")])
    seen: list[int] = []
    frame, stats = background.wait(seen.append, poll_seconds=0.01)
    direct, _ = scrape_objects(s3, [uri("a"), uri("b")], max_workers=2)
    pd.testing.assert_frame_equal(frame, direct)  # which way it was read changes no row
    assert stats["requests"]["HEAD"] == 2 and seen and background.finished is not None
    assert prefetches.take([uri("a"), uri("b")]) is None  # taken once


def test_the_scrapes_error_is_raised_by_the_step_that_takes_it(s3):
    prefetches = Prefetches()
    prefetches.start(scrape_objects, s3, ["s3://no-such-bucket/x"], max_workers=1)
    with pytest.raises(S3AccessError, match="no-such-bucket"):
        prefetches.take(["s3://no-such-bucket/x"]).wait(lambda _: None, poll_seconds=0.01)


def test_a_scrape_nobody_takes_is_stopped_and_sends_no_more_heads(s3, monkeypatch):
    keys = [f"k{i}" for i in range(40)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    release, sent = threading.Event(), []
    real_head = s3_module._head_row

    def slow_head(client, *target):
        sent.append(target)
        release.wait(5)
        return real_head(client, *target)

    monkeypatch.setattr(s3_module, "_head_row", slow_head)
    prefetches = Prefetches()
    background = prefetches.start(scrape_objects, s3, [uri(k) for k in keys], max_workers=2)
    prefetches.stop_all()  # the run ended before the S3 step took it
    release.set()
    with pytest.raises(ScrapeStopped):
        background.outcome.result(timeout=10)
    assert len(sent) < len(keys)


def test_the_resource_tears_down_what_its_run_started(s3, monkeypatch):
    resource = S3Resource()
    stopped: list[bool] = []
    monkeypatch.setattr(Prefetches, "stop_all", lambda self: stopped.append(True))
    resource.teardown_after_execution(None)
    assert stopped == [True]
    assert resource.prefetched_metadata([uri("a")]) is None


def test_a_step_interrupted_while_it_waits_stops_the_scrape(s3, monkeypatch):
    """Ctrl-C (or a terminated run) in the S3 step: the HEADs not yet sent are cancelled."""
    keys = [f"w{i}" for i in range(40)]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"x")
    release, sent = threading.Event(), []
    real_head = s3_module._head_row

    def slow_head(client, *target):
        sent.append(target)
        release.wait(5)
        return real_head(client, *target)

    monkeypatch.setattr(s3_module, "_head_row", slow_head)
    prefetches = Prefetches()
    prefetches.start(scrape_objects, s3, [uri(k) for k in keys], max_workers=2)
    background = prefetches.take([uri(k) for k in keys])

    def interrupted(_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        background.wait(interrupted, poll_seconds=0.01)
    assert background.stop.is_set()
    release.set()
    with pytest.raises(ScrapeStopped):
        background.outcome.result(timeout=10)
    assert len(sent) < len(keys)


def test_a_client_that_cannot_be_made_is_left_to_the_s3_step(monkeypatch):
    resource = S3Resource(endpoint_url="not a url")
    resource.prefetch_metadata(["s3://bucket-x/a"])  # no error here: the S3 step reports it
    assert resource.prefetched_metadata(["s3://bucket-x/a"]) is None
