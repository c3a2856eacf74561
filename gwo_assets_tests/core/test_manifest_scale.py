"""100k rows go through read -> normalize -> validate (smoke test: no timing assertion)."""

from gwo_assets.core.manifest import normalize_manifest, read_manifest_bytes
from gwo_assets.core.manifest_rules import validate_manifest
from gwo_assets_tests.manifests.large import large_manifest_tsv

ROWS = 100_000


def test_large_manifest_is_valid_and_complete():
    manifest = normalize_manifest(read_manifest_bytes(large_manifest_tsv(ROWS), "large.tsv"))
    issues = validate_manifest(manifest)
    assert issues.empty, issues.head().to_string()
    assert len(manifest) == ROWS
    assert manifest["row"].iloc[-1] == ROWS + 1
    assert manifest["biospecimen_id"].is_unique
    assert manifest["filepath"].nunique() == ROWS // 2


def test_an_error_on_every_row_is_reported_on_every_row():
    rows = ROWS // 10
    data = large_manifest_tsv(rows).replace(b"\tVariant Calls\t", b"\tvariant calls\t")
    issues = validate_manifest(normalize_manifest(read_manifest_bytes(data, "large.tsv")))
    assert len(issues) == rows
    assert set(issues["suggestion"]) == {"did you mean 'Variant Calls'? (values are case-sensitive)"}
