import pandas as pd

from gwo_assets.core.access import inherit_access, more_open_than_sources

STUDY = "/programs/SD_11111111"
CONSENT = "/programs/phs001999.c1"


def joined(*rows):
    """Manifest-to-sources rows: (filepath, source_genomic_file_id, controlled_access, authz, acl)."""
    return pd.DataFrame(
        [
            {"row": number, "filepath": filepath, "source_genomic_file_id": source,
             "controlled_access": controlled, "authz": authz, "acl": acl}
            for number, (filepath, source, controlled, authz, acl) in enumerate(rows, start=2)
        ]
    )


def access_of(frame):
    return inherit_access(frame).set_index("filepath")


def test_all_open_sources_give_an_open_file():
    access = access_of(joined(("f.cram", "GF_1", False, ["/open"], ["*"]),
                              ("f.cram", "GF_2", False, ["/open"], ["*"])))

    assert access.loc["f.cram"].tolist() == [False, ["/open"], ["*"], True]


def test_one_controlled_source_makes_the_file_controlled_and_drops_open_markers():
    access = access_of(joined(("f.cram", "GF_OPEN", False, ["/open"], ["*"]),
                              ("f.cram", "GF_CTRL", True, [STUDY, CONSENT], ["phs001999.c1"])))

    row = access.loc["f.cram"]
    assert row["controlled_access"] == True  # noqa: E712
    assert row["authz"] == sorted([STUDY, CONSENT])
    assert row["acl"] == ["phs001999.c1"]
    assert row["access_resolved"] == True  # noqa: E712


def test_unknown_controlled_access_counts_as_controlled():
    access = access_of(joined(("f.cram", "GF_1", None, ["/open", STUDY], []),))

    assert access.loc["f.cram", "controlled_access"] == True  # noqa: E712
    assert access.loc["f.cram", "authz"] == [STUDY]


def test_file_without_resolved_source_is_controlled_and_flagged():
    access = access_of(joined(("lost.cram", None, None, None, None),
                              ("half.cram", "GF_1", False, ["/open"], ["*"]),
                              ("half.cram", None, None, None, None)))

    assert access.loc["lost.cram"].tolist() == [True, [], [], False]
    assert access.loc["half.cram"].tolist() == [True, [], [], False]


def test_repeated_source_rows_are_one_source_and_lists_are_sorted_unions():
    access = access_of(joined(("f.cram", "GF_1", True, [STUDY], []),
                              ("f.cram", "GF_1", True, [STUDY], []),
                              ("f.cram", "GF_2", True, [CONSENT, STUDY], [])))

    assert access.loc["f.cram", "authz"] == sorted([STUDY, CONSENT])


def planned(*bodies, action=None):
    frame = pd.DataFrame({"external_id": [b["external_id"] for b in bodies], "payload": list(bodies),
                          "row": range(2, 2 + len(bodies))})
    if action is not None:
        frame["action"] = action
    return frame


CONTROLLED_SOURCES = joined(("f.cram", "GF_OPEN", False, ["/open"], ["*"]),
                            ("f.cram", "GF_CTRL", True, [STUDY, CONSENT], ["phs001999.c1"]))


def test_inherited_bodies_pass_the_check():
    access = inherit_access(CONTROLLED_SOURCES).iloc[0]
    body = {"external_id": "f.cram", "controlled_access": bool(access["controlled_access"]),
            "authz": access["authz"], "acl": access["acl"]}

    assert more_open_than_sources(planned(body), CONTROLLED_SOURCES).empty


def test_hand_edited_body_that_opens_a_controlled_file_is_caught():
    body = {"external_id": "f.cram", "controlled_access": False, "authz": [STUDY, "/open"], "acl": ["*"]}

    issues = more_open_than_sources(planned(body), CONTROLLED_SOURCES)

    assert set(zip(issues["column"], issues["value"])) == {
        ("controlled_access", "False"), ("authz", f"missing {CONSENT}"), ("authz", "/open"),
        ("acl", "missing phs001999.c1"), ("acl", "*")}
    assert set(issues["severity"]) == {"error"}
    assert set(issues["row"]) == {2}


def test_fields_missing_from_a_create_body_count_as_open():
    issues = more_open_than_sources(planned({"external_id": "f.cram"}), CONTROLLED_SOURCES)

    assert set(issues["column"]) == {"controlled_access", "authz", "acl"}


def test_update_body_without_access_fields_is_not_checked_but_an_edited_one_is():
    untouched = {"external_id": "f.cram", "size": 10}
    edited = {"external_id": "f.cram", "controlled_access": None}

    assert more_open_than_sources(planned(untouched, action="update"), CONTROLLED_SOURCES).empty
    issues = more_open_than_sources(planned(edited, action="update"), CONTROLLED_SOURCES)
    assert issues[["column", "value"]].values.tolist() == [["controlled_access", "None"]]


def test_open_sources_allow_an_open_file_and_unknown_sources_do_not():
    sources = joined(("open.cram", "GF_1", False, ["/open"], ["*"]), ("lost.cram", None, None, None, None))
    bodies = planned({"external_id": "open.cram", "controlled_access": False, "authz": ["/open"], "acl": ["*"]},
                     {"external_id": "lost.cram", "controlled_access": False, "authz": [], "acl": []})

    issues = more_open_than_sources(bodies, sources)

    assert issues[["row", "column"]].values.tolist() == [[3, "controlled_access"]]


def test_empty_inputs_give_empty_results():
    empty_join = joined().reindex(columns=["row", "filepath", "source_genomic_file_id", "controlled_access",
                                           "authz", "acl"])

    assert inherit_access(empty_join).empty
    assert more_open_than_sources(pd.DataFrame(columns=["external_id", "payload", "action"]), empty_join).empty
