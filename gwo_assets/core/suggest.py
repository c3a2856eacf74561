"""'Did you mean' for typed values: a suggestion beats a bare 'invalid value'."""

import difflib
import re
from collections.abc import Iterable

_SEPARATORS = re.compile(r"[\s_\-]+")
_LONGEST_COMPARED = 200  # longer values are never typos of a short choice; skip the costly diff


def loose_key(value: str) -> str:
    """Case-, space-, '_'- and '-'-insensitive form: 'family joint_genotyping' ~ 'Family-Joint-Genotyping'."""
    return _SEPARATORS.sub("", value).casefold()


def closest_choice(value: str, choices: Iterable[str], cutoff: float = 0.75) -> str | None:
    """The choice ``value`` most likely meant, or None.

    Tries, in order: the same letters in another case, the same words with
    other separators, then difflib's closest match (case-insensitive).
    """
    choices = list(choices)
    if not value or len(value) > _LONGEST_COMPARED:
        return None
    for key in (str.casefold, loose_key):
        matches = [choice for choice in choices if key(choice) == key(value)]
        if matches:
            return sorted(matches)[0]
    by_folded = {choice.casefold(): choice for choice in sorted(choices, reverse=True)}
    close = difflib.get_close_matches(value.casefold(), list(by_folded), n=1, cutoff=cutoff)
    return by_folded[close[0]] if close else None


def did_you_mean(value: str, choices: Iterable[str]) -> str:
    """A short sentence for an issue's suggestion, '' when nothing is close."""
    choice = closest_choice(value, choices)
    if choice is None:
        return ""
    if choice.casefold() == value.casefold():
        return f"did you mean {choice!r}? (values are case-sensitive)"
    return f"did you mean {choice!r}?"
