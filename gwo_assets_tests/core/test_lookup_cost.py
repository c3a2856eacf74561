"""The look-up cost report: said once the scans are measured slow, never for cheap ones."""

from gwo_assets.core.lookup_cost import (FIRST_ADVICE_AFTER, SLOW_LOOKUP_MS, is_checkpoint,
                                         lookup_cost, slow_lookup_advice)


def test_checkpoints_double_so_judging_costs_nothing_at_any_size():
    assert [n for n in range(1, 1000) if is_checkpoint(n)] == [20, 40, 80, 160, 320, 640]


def test_slow_scans_name_the_cost_the_remaining_wait_and_both_ways_out():
    advice = slow_lookup_advice([130.0] * 19 + [400.0], remaining=980, concurrency=16)
    assert "median 130 ms" in advice and "p95 400 ms" in advice
    assert "about 8 s more for the 980 left" in advice  # 980 x 130 ms / 16
    assert "GEN3_INDEXD_URL" in advice and "CREATE INDEX ON genomic_file (external_id)" in advice


def test_cheap_or_too_few_scans_say_nothing():
    assert slow_lookup_advice([9.0] * 100, remaining=10, concurrency=16) is None
    assert slow_lookup_advice([SLOW_LOOKUP_MS * 3] * (FIRST_ADVICE_AFTER - 1), 10, 16) is None


def test_the_cost_of_no_lookup_is_empty_not_zero():
    assert lookup_cost([], 0, 16)["median_ms"] is None
    assert lookup_cost([1.0, 2.0, 3.0, 100.0], 0, 16) == {
        "lookups": 4, "median_ms": 2.5, "p95_ms": 100.0, "remaining_seconds": 0.0}


def test_with_indexd_configured_only_the_index_is_offered():
    advice = slow_lookup_advice([130.0] * 20, remaining=5, concurrency=16, indexd_configured=True)
    assert "GEN3_INDEXD_URL" not in advice and "CREATE INDEX ON genomic_file" in advice
    assert "at most 5 left" in advice
