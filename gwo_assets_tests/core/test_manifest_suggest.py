"""Did-you-mean: case first, then separators, then spelling; nothing for far-off values."""

import pytest

from gwo_assets.core.suggest import closest_choice, did_you_mean, loose_key

CHOICES = ["gVCF", "gVCF Index", "Aligned Reads", "Aligned Read", "Family-Joint-Genotyping"]


@pytest.mark.parametrize(
    ("value", "choice"),
    [
        ("GVCF", "gVCF"),
        ("gvcf index", "gVCF Index"),
        ("family joint_genotyping", "Family-Joint-Genotyping"),
        ("Alined Reads", "Aligned Reads"),
        ("aligned read", "Aligned Read"),
        ("Somatic", None),
        ("", None),
        ("x" * 500, None),
    ],
)
def test_closest_choice(value: str, choice: str | None):
    assert closest_choice(value, CHOICES) == choice


def test_did_you_mean_says_when_only_the_case_differs():
    assert did_you_mean("GVCF", CHOICES) == "did you mean 'gVCF'? (values are case-sensitive)"
    assert did_you_mean("Alined Reads", CHOICES) == "did you mean 'Aligned Reads'?"
    assert did_you_mean("Somatic", CHOICES) == ""


def test_loose_key_ignores_case_spaces_and_separators():
    assert loose_key(" Family - Joint_genotyping ") == loose_key("Family-Joint-Genotyping") == "familyjointgenotyping"
