"""The enum sets must equal what the real DataService listed in its recorded 400s."""

import ast
import json
import re

import pytest

from gwo_assets.core import enums
from gwo_assets_tests.fixtures import DATASERVICE_CONTRACT

CONTRACT = DATASERVICE_CONTRACT


def recorded_choices(file_name: str) -> dict[str, set[str]]:
    """Field -> allowed values, parsed from a recorded 'Not a valid choice' message."""
    message = json.loads((CONTRACT / file_name).read_text())["response"]["body"]["_status"]["message"]
    field_errors = ast.literal_eval(message.split(": ", 1)[1])  # a Python dict repr
    return {
        field: set(errors[0].split("Must be one of: ", 1)[1].split(", "))
        for field, errors in field_errors.items()
    }


def readme_alternatives(field: str) -> set[str]:
    """Values of ``field (`a` | `b`)`` in the README's POST body section."""
    readme = (CONTRACT / "README.md").read_text()
    match = re.search(rf"`{field}` \(((?:`[^`]+`\s*\|?\s*)+)\)", readme)
    assert match, f"{field} alternatives not found in README"
    return set(re.findall(r"`([^`]+)`", match.group(1)))


def readme_missing_data_values() -> set[str]:
    readme = (CONTRACT / "README.md").read_text()
    sentence = re.search(r"also accepts (.+?)\. Matching", readme, re.S).group(1)
    return set(re.findall(r"`([^`]+)`", sentence))


def test_genomic_file_enums_match_contract_071():
    recorded = recorded_choices("071-post-genomic-file-invalid-data-type-enum.json")
    assert enums.DATA_TYPES == recorded["data_type"]
    assert enums.WORKFLOW_TYPES == recorded["workflow_type"]


def test_experiment_strategies_match_contract_087():
    recorded = recorded_choices("087-post-sequencing-experiment-invalid-strategy.json")
    assert enums.EXPERIMENT_STRATEGIES == recorded["experiment_strategy"]


def test_visibility_reasons_match_contract_111():
    recorded = recorded_choices("111-patch-genomic-file-invalid-visibility-reason.json")
    assert enums.VISIBILITY_REASONS == recorded["visibility_reason"]
    assert not enums.VISIBILITY_REASONS & enums.MISSING_DATA_VALUES


def test_readme_enums():
    missing = readme_missing_data_values()
    assert enums.MISSING_DATA_VALUES == missing
    assert enums.AVAILABILITY == readme_alternatives("availability") | missing
    assert enums.FILE_VERSION_DESCRIPTORS == readme_alternatives("file_version_descriptor") | missing


def test_recorded_enums_include_missing_data_values():
    for values in (enums.DATA_TYPES, enums.WORKFLOW_TYPES, enums.EXPERIMENT_STRATEGIES):
        assert enums.MISSING_DATA_VALUES <= values
