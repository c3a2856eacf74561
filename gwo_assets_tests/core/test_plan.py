import pandas as pd

from gwo_assets.core.plan import (PLAN_COLUMNS, extra_links, hidden_files, plan_genomic_files, plan_links,
                                  summarize_plan)

CRAM = "s3://bucket/harmonized/pt1.cram"
GVCF = "s3://bucket/harmonized/pt1.g.vcf.gz"
STUDY = "/programs/SD_11111111"
CONSENT = "/programs/phs001999.c1"


def body(external_id=CRAM, **overrides):
    return {
        "external_id": external_id, "urls": [external_id], "file_name": external_id.rsplit("/", 1)[-1],
        "file_format": "cram", "data_type": "Aligned Reads", "workflow_type": "Alignment",
        "is_harmonized": True, "size": 100, "hashes": {"md5": "a" * 32, "etag": "a" * 32},
        "availability": "Immediate Download", "controlled_access": True, "authz": [STUDY, CONSENT],
        "acl": [], "visible": True, **overrides,
    }


def desired(*bodies):
    return pd.DataFrame({"external_id": [b["external_id"] for b in bodies], "payload": list(bodies),
                         "row": range(2, 2 + len(bodies))})


def record(kf_id, created_at="2026-11-26T03:00:00.000000+00:00", **overrides):
    """A stored DataService record as the client flattens it (with fields we never set)."""
    stored = body(**overrides)
    return {**stored, "kf_id": kf_id, "created_at": created_at, "latest_did": "uuid",
            "reference_genome": "GRCh38", "metadata": {}}


def test_new_file_is_created_with_the_full_body():
    plan = plan_genomic_files(desired(body()), pd.DataFrame())

    assert list(plan.columns) == PLAN_COLUMNS
    row = plan.iloc[0]
    assert (row["action"], row["kf_id"], row["payload"], row["previous"], row["duplicates"]) == (
        "create", None, body(), {}, [])
    assert row["row"] == 2


def test_same_values_in_another_order_are_unchanged():
    stored = record("GF_1", hashes={"etag": "a" * 32, "md5": "a" * 32}, authz=[CONSENT, STUDY])

    plan = plan_genomic_files(desired(body()), pd.DataFrame([stored]))

    assert plan.iloc[0][["action", "kf_id", "payload", "changed_fields"]].tolist() == [
        "unchanged", "GF_1", {}, []]


def test_changed_size_is_an_update_of_size_and_the_whole_hashes_dict():
    stored = record("GF_1", size=99, hashes={"md5": "b" * 32})

    row = plan_genomic_files(desired(body()), pd.DataFrame([stored])).iloc[0]

    assert row["action"] == "update"
    assert row["payload"] == {"size": 100, "hashes": {"md5": "a" * 32, "etag": "a" * 32}}
    assert row["previous"] == {"size": 99, "hashes": {"md5": "b" * 32}}
    assert row["changed_fields"] == ["size", "hashes"]


def test_previous_values_keep_their_types_when_another_record_has_no_size():
    """A missing size makes the column float: the previous size is still an int, for undo."""
    stored = pd.DataFrame([record("GF_1", size=99), record("GF_2", external_id=GVCF, size=None)])

    row = plan_genomic_files(desired(body()), stored).iloc[0]

    assert row["previous"] == {"size": 99} and type(row["previous"]["size"]) is int


def test_unset_stored_fields_are_updated_and_fields_we_do_not_send_are_left_alone():
    stored = record("GF_1", controlled_access=None, cavatica_file_id="cav-1", file_name="")

    row = plan_genomic_files(desired(body()), pd.DataFrame([stored])).iloc[0]

    assert row["payload"] == {"file_name": "pt1.cram", "controlled_access": True}
    assert row["previous"] == {"file_name": "", "controlled_access": None}


def test_the_same_object_keeps_every_stored_hash_type_and_gains_the_missing_known_ones():
    """The DataService replaces ``hashes`` wholesale on PATCH (contract 063): for an unchanged
    object the body carries the merged dict, so a type the scrape cannot see is never dropped."""
    curated = {"md5": "a" * 32, "etag": "a" * 32, "sha256": "c" * 64, "sha512": "d" * 128}
    same = plan_genomic_files(desired(body()), pd.DataFrame([record("GF_1", hashes=curated)]))
    assert same.iloc[0][["action", "payload"]].tolist() == ["unchanged", {}]
    assert same.iloc[0]["expected"]["hashes"] == curated

    # Another tool stored md5 (equal: same content) but no etag: the etag is added, sha512 kept.
    other_tool = {"md5": "a" * 32, "sha512": "d" * 128}
    row = plan_genomic_files(desired(body()), pd.DataFrame([record("GF_1", hashes=other_tool)])).iloc[0]
    assert row["payload"] == {"hashes": {"md5": "a" * 32, "etag": "a" * 32, "sha512": "d" * 128}}
    assert row["previous"] == {"hashes": other_tool}
    assert row["expected"]["hashes"] == row["payload"]["hashes"]


def test_a_replaced_object_gets_exactly_the_known_hashes_of_its_new_content():
    """Once the size or a known hash differs the object was replaced: every stored type the
    scrape cannot see belongs to the old bytes, so none is kept (issue 19)."""
    multipart = body(size=200, hashes={"etag": "e" * 32 + "-2"})
    old = {"md5": "a" * 32, "etag": "a" * 32, "sha256": "c" * 64}
    row = plan_genomic_files(desired(multipart), pd.DataFrame([record("GF_1", hashes=old)])).iloc[0]
    assert row["action"] == "update"
    assert row["payload"] == {"size": 200, "hashes": {"etag": "e" * 32 + "-2"}}
    assert row["previous"] == {"size": 100, "hashes": old}
    assert row["changed_fields"] == ["size", "hashes"]
    assert row["expected"]["hashes"] == {"etag": "e" * 32 + "-2"}

    # Same size, other bytes (a known hash differs): the curated sha256 of the old bytes goes.
    rewritten = body(hashes={"md5": "b" * 32, "etag": "b" * 32})
    row = plan_genomic_files(desired(rewritten), pd.DataFrame([record("GF_1", hashes=old)])).iloc[0]
    assert row["payload"] == {"hashes": {"md5": "b" * 32, "etag": "b" * 32}}
    assert row["previous"] == {"hashes": old}
    assert row["expected"]["hashes"] == row["payload"]["hashes"]


def test_an_unproven_sameness_keeps_no_old_hash():
    """Same size, but the stored record shares no hash type with the scrape (another tool's
    md5; the object's multipart ETag gives none): nothing proves the md5 is of these bytes."""
    multipart = body(hashes={"etag": "e" * 32 + "-2"})
    other_tool = {"md5": "a" * 32}
    row = plan_genomic_files(desired(multipart), pd.DataFrame([record("GF_1", hashes=other_tool)])).iloc[0]
    assert row["payload"] == {"hashes": {"etag": "e" * 32 + "-2"}}
    assert row["previous"] == {"hashes": other_tool}


def test_another_size_alone_makes_the_object_changed():
    """The rule asks for the same size too: a stored type beyond the known ones goes; when the
    stored dict is already exactly the known hashes only the size is PATCHed."""
    curated = {"md5": "a" * 32, "etag": "a" * 32, "sha512": "d" * 128}
    row = plan_genomic_files(desired(body()), pd.DataFrame([record("GF_1", size=99, hashes=curated)])).iloc[0]
    assert row["payload"] == {"size": 100, "hashes": {"md5": "a" * 32, "etag": "a" * 32}}

    row = plan_genomic_files(desired(body()), pd.DataFrame([record("GF_1", size=99)])).iloc[0]
    assert (row["payload"], row["changed_fields"]) == ({"size": 100}, ["size"])
    assert row["expected"]["hashes"] == {"md5": "a" * 32, "etag": "a" * 32}


def test_an_existing_files_visible_is_never_updated_and_new_files_are_created_visible():
    """A curator hid the file: an ingest leaves it hidden (the hidden-file check reports it)."""
    hidden = record("GF_1", visible=False, size=99)
    plan = plan_genomic_files(desired(body(), body(GVCF)), pd.DataFrame([hidden])).set_index("external_id")

    assert plan.loc[CRAM, ["action", "payload"]].tolist() == ["update", {"size": 100}]
    assert "visible" not in plan.loc[CRAM, "expected"]
    assert plan.loc[GVCF, "action"] == "create" and plan.loc[GVCF, "payload"]["visible"] is True
    unchanged = plan_genomic_files(desired(body()), pd.DataFrame([record("GF_1", visible=False)]))
    assert unchanged.iloc[0]["action"] == "unchanged"


def test_hidden_files_are_listed_with_their_kf_id():
    stored = pd.DataFrame([record("GF_1", visible=False), record("GF_2", external_id=GVCF)])
    plan = plan_genomic_files(desired(body(), body(GVCF)), stored)

    issues = hidden_files(plan, stored)

    assert issues[["check", "row", "column", "value", "severity"]].values.tolist() == [
        ["file_is_hidden", 2, "Filepath", CRAM, "warning"]]
    assert "GF_1" in issues.iloc[0]["suggestion"]
    assert hidden_files(plan_genomic_files(desired(body()), pd.DataFrame()), pd.DataFrame()).empty


def test_duplicates_by_external_id_reuse_the_oldest_and_list_the_others():
    records = [
        record("GF_NEW", created_at="2026-11-26T05:00:00.000000+00:00", size=1),
        record("GF_OLD", created_at="2026-11-26T03:00:00.000000+00:00"),
        record("GF_MID", created_at="2026-11-26T04:00:00.000000+00:00"),
        record("GF_GVCF", external_id=GVCF),
    ]

    plan = plan_genomic_files(desired(body(), body(GVCF)), pd.DataFrame(records)).set_index("external_id")

    assert plan.loc[CRAM, ["action", "kf_id", "duplicates"]].tolist() == ["unchanged", "GF_OLD", ["GF_MID", "GF_NEW"]]
    assert plan.loc[GVCF, ["kf_id", "duplicates"]].tolist() == ["GF_GVCF", []]


def test_summarize_plan_counts_every_action():
    stored = pd.DataFrame([record("GF_1"), record("GF_2", external_id=GVCF, size=1)])
    plan = plan_genomic_files(desired(body(), body(GVCF), body("s3://bucket/harmonized/new.cram")), stored)

    assert summarize_plan(plan) == {"create": 1, "update": 1, "unchanged": 1}
    assert summarize_plan(pd.DataFrame()) == {"create": 0, "update": 0, "unchanged": 0}


WANTED = pd.DataFrame({"filepath": [CRAM, CRAM, GVCF, GVCF], "biospecimen_id": ["BS_1", "BS_2", "BS_1", None]})
FILE_IDS = pd.DataFrame({"external_id": [CRAM], "kf_id": ["GF_1"]})
LINKS = pd.DataFrame({"kf_id": ["BG_1", "BG_9", "BG_X"], "genomic_file_id": ["GF_1", "GF_1", "GF_OTHER"],
                      "biospecimen_id": ["BS_1", "BS_9", "BS_2"]})


def test_links_of_existing_files_are_unchanged_or_created_and_new_files_wait_for_their_id():
    plan = plan_links(WANTED, LINKS, FILE_IDS, "biospecimen_id")

    assert plan.values.tolist() == [
        [CRAM, "GF_1", "BS_1", "unchanged", "BG_1"],
        [CRAM, "GF_1", "BS_2", "create", None],
        [GVCF, None, "BS_1", "create", None],
    ]


def test_links_on_an_empty_study_are_all_created():
    plan = plan_links(WANTED, pd.DataFrame(), pd.DataFrame(), "biospecimen_id")

    assert plan["action"].tolist() == ["create"] * 3
    assert plan["genomic_file_id"].tolist() == [None] * 3


def test_link_without_genomic_file_never_matches_a_file_to_create():
    orphan = pd.DataFrame({"kf_id": ["BG_ORPHAN"], "genomic_file_id": [None], "biospecimen_id": ["BS_1"]})

    plan = plan_links(WANTED, orphan, pd.DataFrame(), "biospecimen_id")

    assert plan["kf_id"].tolist() == [None] * 3


def test_extra_links_are_existing_links_of_our_files_the_manifest_does_not_ask_for():
    extra = extra_links(WANTED, LINKS, FILE_IDS, "biospecimen_id")

    assert extra.values.tolist() == [[CRAM, "GF_1", "BS_9", "BG_9"]]


def test_experiment_links_use_the_same_rules():
    wanted = pd.DataFrame({"filepath": [CRAM], "sequencing_experiment_id": ["SE_WGS"]})
    links = pd.DataFrame({"kf_id": ["SG_1"], "genomic_file_id": ["GF_1"], "sequencing_experiment_id": ["SE_WGS"]})

    plan = plan_links(wanted, links, FILE_IDS, "sequencing_experiment_id")

    assert plan.values.tolist() == [[CRAM, "GF_1", "SE_WGS", "unchanged", "SG_1"]]


def test_nothing_desired_plans_nothing():
    plan = plan_genomic_files(pd.DataFrame(columns=["external_id", "payload", "row"]), pd.DataFrame([record("GF_1")]))

    assert plan.empty
    assert list(plan.columns) == PLAN_COLUMNS
