"""Cursor pagination: pages, totals, `next` links and the `after` cursor."""

from urllib.parse import parse_qs, urlsplit

import pytest

from gwo_assets_tests.sandbox.conftest import add_file


def _cursor(link: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(link).query).items()}


def _pages(api, study, limit: int) -> list[dict]:
    """Every page of the study's unharmonized files, re-sending filters with the cursor."""
    pages, cursor = [], {}
    while True:
        page = api.list("/genomic-files", study_id=study.study_id, is_harmonized="false",
                        limit=limit, **cursor)
        pages.append(page)
        if "next" not in page["_links"]:
            return pages
        cursor = {k: v for k, v in _cursor(page["_links"]["next"]).items() if k != "study_id"}


@pytest.fixture
def six_files(api, study):
    for i in range(6):
        add_file(api, study, f"source/{i}.cram")
    add_file(api, study, "harmonized/0.cram", harmonized=True)
    return study


@pytest.mark.parametrize("limit, sizes", [(3, [3, 3, 0]), (4, [4, 2]), (6, [6, 0]),
                                          (100, [6])])
def test_pages_hold_every_match_once_in_creation_order(api, six_files, limit, sizes):
    pages = _pages(api, six_files, limit)

    assert [len(p["results"]) for p in pages] == sizes
    assert [r["kf_id"] for p in pages for r in p["results"]] == six_files.file_ids[:6]
    assert {p["total"] for p in pages} == {6}
    assert {p["limit"] for p in pages} == {limit}


def test_a_total_that_is_a_multiple_of_the_limit_ends_with_an_empty_page(api, six_files):
    *full, last = _pages(api, six_files, 3)

    assert all("next" in page["_links"] for page in full)
    assert last["results"] == [] and "next" not in last["_links"]


def test_next_keeps_only_the_cursor_and_study_id(api, six_files):
    first = api.list("/genomic-files", study_id=six_files.study_id, is_harmonized="false",
                     visible="true", limit=2)
    next_link = first["_links"]["next"]
    cursor = _cursor(next_link)

    assert set(cursor) == {"after", "after_uuid", "study_id"}
    assert first["_links"]["self"] == f"/genomic-files?study_id={six_files.study_id}"
    followed = api.call("GET", next_link).json()  # verbatim: filters and limit are gone
    assert followed["limit"] == 100
    assert [r["kf_id"] for r in followed["results"]] == six_files.file_ids[2:]
    assert followed["_links"]["self"] == next_link


def test_after_without_after_uuid_includes_the_row_at_that_instant(api, six_files):
    first = api.list("/genomic-files", study_id=six_files.study_id, limit=2)
    after = _cursor(first["_links"]["next"])["after"]

    from_instant = api.list("/genomic-files", study_id=six_files.study_id, after=after)
    assert [r["kf_id"] for r in from_instant["results"]] == six_files.file_ids[1:]
    assert from_instant["total"] == 7  # the cursor never changes the total


@pytest.mark.parametrize("after, expected_self_cursor", [
    ("2000-01-01T00:00:00", {"after": "946684800.0",
                             "after_uuid": "00000000-0000-0000-0000-000000000000"}),
    ("not a date", {}),
])
def test_after_accepts_dates_and_ignores_garbage(api, six_files, after, expected_self_cursor):
    page = api.list("/genomic-files", study_id=six_files.study_id, after=after)

    assert len(page["results"]) == 7
    assert _cursor(page["_links"]["self"]) == {**expected_self_cursor,
                                               "study_id": six_files.study_id}


@pytest.mark.parametrize("limit, applied", [("5000", 1000), ("abc", 100), ("2", 2)])
def test_limit_is_capped_and_defaults(api, six_files, limit, applied):
    assert api.list("/genomic-files", limit=limit)["limit"] == applied


@pytest.mark.parametrize("limit", ["0", "-1"])
def test_limit_zero_or_negative_is_a_server_error(api, limit):
    response = api.call("GET", "/genomic-files", params={"limit": limit})
    assert response.status_code == 500
