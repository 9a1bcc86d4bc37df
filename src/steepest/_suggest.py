"""Suggestions for misspelled names: "unknown optimizer 'adma' (did you mean 'adam'?)"."""

from __future__ import annotations

from collections.abc import Iterable


def _edits(a: str, b: str) -> int:
    """Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`: a swap is
    the commonest typo ("adma" for "adam"), so it counts as one."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def close_matches(word: str, choices: Iterable[str], count: int = 1) -> list[str]:
    """The names in `choices` closest to `word`, best first: those a few edits away (one per
    three letters), else those difflib finds alike, else those that start with `word`
    ("--optim" -> "--optimizer")."""
    import difflib

    choices = [str(choice) for choice in choices]
    key = word.lower()
    allowed = max(1, len(key.lstrip("-")) // 3)
    near = sorted((_edits(key, choice.lower()), index) for index, choice in enumerate(choices))
    found = [choices[index] for edits, index in near if edits <= allowed]
    if not found:
        found = difflib.get_close_matches(word, choices, n=count, cutoff=0.7)
    if not found and len(word) >= 3:
        found = [choice for choice in choices if choice.startswith(word)]
    return found[:count]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """" (did you mean 'adam'?)" for the closest choice, or "" when none is close."""
    found = close_matches(word, choices)
    return f" (did you mean {found[0]!r}?)" if found else ""
