"""The shipped word lists behind PERSON detection: names, common English words, a gazetteer."""

from __future__ import annotations

import functools
import gzip
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from guardrails.errors import GuardModelError

DATA_DIR = Path(__file__).parent / "data"
NAMES_FILE = "names.tsv.gz"
ENGLISH_FILE = "english.txt.gz"
GAZETTEER_FILE = "gazetteer.txt"


@dataclass(frozen=True)
class Lexicon:
    """Name popularity buckets (1 best .. 9, 0 absent), common English words, word groups."""

    names: Mapping[str, int]
    english: frozenset[str]
    groups: Mapping[str, frozenset[str]]

    def first_rank(self, word: str) -> int:
        """Bucket of `word` (lower case) as a first name; 0 when it is none."""
        return self.names.get(word, 0) // 10

    def last_rank(self, word: str) -> int:
        """Bucket of `word` (lower case) as a last name; 0 when it is none."""
        return self.names.get(word, 0) % 10

    def is_name(self, word: str) -> bool:
        """True when `word` (lower case) is a listed first or last name."""
        return word in self.names

    def is_english(self, word: str) -> bool:
        """True when `word` (lower case) is a common English word usually written in lower case."""
        return word in self.english

    def in_group(self, word: str, group: str) -> bool:
        """True when `word` (lower case) belongs to the gazetteer group (places, labels, ...)."""
        return word in self.groups.get(group, frozenset())


def _read_gzip_lines(path: Path) -> list[str]:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return handle.read().splitlines()
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise GuardModelError(
            f"PII word list {path} cannot be read ({exc})",
            remedy="reinstall Airlock; the shipped data files are damaged or missing",
        ) from None


def _parse_names(path: Path) -> dict[str, int]:
    lines = _read_gzip_lines(path)
    # Every line is "name<TAB>FL" with two bucket digits; slicing beats splitting 400k lines.
    bad = next((n for n, line in enumerate(lines, 1) if line[-3:-2] != "\t"), None)
    if bad is not None:
        raise GuardModelError(
            f"PII name list {path} line {bad} is not 'name<TAB>FL'",
            remedy="rebuild it with `python -m guardrails.pii.lexicon_build`",
        )
    return {line[:-3]: int(line[-2:]) for line in lines}


def parse_gazetteer(text: str) -> dict[str, frozenset[str]]:
    """Groups of a gazetteer text: `[group]` headers, then white-space separated words."""
    groups: dict[str, set[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
            groups.setdefault(current, set())
        elif line:
            groups.setdefault(current, set()).update(word.lower() for word in line.split())
    return {name: frozenset(words) for name, words in groups.items()}


@functools.lru_cache(maxsize=4)
def load_lexicon(data_dir: Path = DATA_DIR) -> Lexicon:
    """Load (once per process) the word lists in `data_dir`."""
    gazetteer = data_dir / GAZETTEER_FILE
    try:
        groups = parse_gazetteer(gazetteer.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise GuardModelError(
            f"PII gazetteer {gazetteer} cannot be read ({exc})",
            remedy="reinstall Airlock; the shipped data files are damaged or missing",
        ) from None
    # The gazetteer's [english] group adds words the frequency list misses ("edit": on the web
    # "Edit:" is written capitalised so often that the list took it for a name).
    english = frozenset(_read_gzip_lines(data_dir / ENGLISH_FILE)) | groups.get(
        "english", frozenset()
    )
    return Lexicon(_parse_names(data_dir / NAMES_FILE), english, groups)
