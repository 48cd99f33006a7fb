"""Finding known secret values in text: every occurrence of any of thousands of strings, in one pass.

A long run knows thousands of distinct secret values (each signed URL's signature, each cookie), and every
string shown must be searched for all of them. An Aho-Corasick automaton (``pyahocorasick``, in C) is built
in about 10 ms for 5,000 values and reads a text once whatever their number; the regular expression it
replaced (a trie of the values as one pattern) took 0.15 s to compile and twice as long to search.

Matches are leftmost first and, of several starting at one place, the longest, without overlaps: what a
flat ``a|b|...`` alternation with the longest values first would match (``tests/test_redaction_scale.py``
compares the two).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping

import ahocorasick

CHUNK = 1 << 18  # characters: labels_in reads a longer text this many at a time


class Literals:
    """Every value of ``values``, found in a text; ``sub`` replaces each occurrence, ``labels_in`` says which
    values' labels occur (``values`` as a mapping: value -> label; as an iterable: each value its own label)."""

    def __init__(self, values: Iterable[str] | Mapping[str, Hashable]) -> None:
        self._automaton = ahocorasick.Automaton()
        pairs = values.items() if isinstance(values, Mapping) else ((value, value) for value in values)
        self._longest = 0
        for value, label in pairs:
            if value:
                self._automaton.add_word(value, (len(value), label))
                self._longest = max(self._longest, len(value))
        self.empty = len(self._automaton) == 0
        if not self.empty:
            self._automaton.make_automaton()

    def spans(self, text: str) -> list[tuple[int, int]]:
        """(start, end) of each occurrence, left to right."""
        if self.empty or not text:
            return []
        # Every occurrence (``iter``, overlapping ones too), then leftmost first and the longest of those starting
        # at one place, skipping any that overlaps one taken. Not ``iter_long``: in pyahocorasick 2.3.1 it misses
        # occurrences (of "b" in "abbbab" with "ababbba" a value too; of "]" ending "b]" with "b][" a value).
        found = [(end + 1 - length, -length) for end, (length, _) in self._automaton.iter(text)]
        if not found:
            return []
        found.sort()
        spans: list[tuple[int, int]] = []
        last = 0
        for start, negative in found:
            if start >= last:
                last = start - negative
                spans.append((start, last))
        return spans

    def labels_in(self, text: str) -> set[Hashable]:
        """The labels of every value that occurs in ``text``, overlapping occurrences included.

        A long text is read :data:`CHUNK` characters at a time, each chunk overlapping the next by the longest
        value less one (so every occurrence lies whole in one): the automaton copies what it reads at 4 bytes a
        character, 12 MB for a report page read at once."""
        if self.empty or not text:
            return set()
        if len(text) <= CHUNK:
            return {label for _, (_, label) in self._automaton.iter(text)}
        found: set[Hashable] = set()
        step = CHUNK
        for start in range(0, len(text), step):
            chunk = text[start : start + step + self._longest - 1]
            found.update(label for _, (_, label) in self._automaton.iter(chunk))
        return found

    def sub(self, replace: Callable[[str], str], text: str) -> str:
        """``text`` with each occurrence ``v`` replaced by ``replace(v)``."""
        spans = self.spans(text)
        if not spans:
            return text
        out: list[str] = []
        last = 0
        for start, end in spans:
            out.append(text[last:start])
            out.append(replace(text[start:end]))
            last = end
        out.append(text[last:])
        return "".join(out)

