"""Suggestions for misspelled names: "unknown optimizer 'adma' (did you mean 'adam'?)"."""

from __future__ import annotations

from collections.abc import Iterable


def close_matches(word: str, choices: Iterable[str], count: int = 1) -> list[str]:
    """The names in `choices` closest to `word` (difflib's ratio of at least 0.6), best first;
    a choice that starts with `word` counts as close ("--optim" -> "--optimizer")."""
    import difflib

    choices = [str(choice) for choice in choices]
    found = difflib.get_close_matches(word, choices, n=count, cutoff=0.6)
    if not found and len(word) >= 3:
        found = [choice for choice in choices if choice.startswith(word)][:count]
    return found


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """" (did you mean 'adam'?)" for the closest choice, or "" when none is close."""
    found = close_matches(word, choices)
    return f" (did you mean {found[0]!r}?)" if found else ""
