"""Rebuild the shipped name and word lists in `data/` from their upstream packages (dev-time).

Usage (on a machine with the two upstream wheels unpacked; nothing is downloaded here):

    python -m guardrails.pii.lexicon_build \\
        --names-dir .../names_dataset/v3 \\
        --lexeme-prob .../spacy_lookups_data/data/en_lexeme_prob.json.gz \\
        --out guardrails/pii/data

names.tsv.gz: one lower-cased name per line with two rank buckets (first name, last name), each
0 (absent) or 1..9 (best rank in any country <= 500 * bucket), from names-dataset 3.3
(Philippe Remy; 105 countries). english.txt.gz: lower-case English words that are written in
lower case at least as often as capitalised (so "will", "park", but not "michael"), from spaCy's
`en_lexeme_prob` table (spacy-lookups-data). Both licences are in `data/NOTICE`.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import pickle
import re
from pathlib import Path
from typing import Any

MAX_RANK = 4500
BUCKET = 500
# A frequent-enough lower-case word (log probability) counts as common English.
COMMON_LOGPROB = -15.5
_NAME = re.compile(r"^[^\W\d_]+(?:['\u2019-][^\W\d_]+)*$")
_WORD = re.compile(r"^[a-z]+$")


def _best_ranks(path: Path) -> dict[str, int]:
    with gzip.open(path, "rb") as handle:
        table: dict[str, Any] = pickle.load(handle)  # noqa: S301 - see the import
    ranks: dict[str, int] = {}
    for name, info in table.items():
        key = name.lower()
        if not info.get("rank") or not _NAME.match(key):
            continue
        best = min(info["rank"].values())
        ranks[key] = min(best, ranks.get(key, best))
    return ranks


def _bucket(rank: int | None) -> int:
    if rank is None or rank > MAX_RANK:
        return 0
    return max(1, math.ceil(rank / BUCKET))


def build_names(names_dir: Path) -> list[str]:
    """Lines `name<TAB>FL` (first-name and last-name buckets), sorted."""
    first = _best_ranks(names_dir / "first_names.pkl.gz")
    last = _best_ranks(names_dir / "last_names.pkl.gz")
    lines = []
    for name in sorted(set(first) | set(last)):
        f, lst = _bucket(first.get(name)), _bucket(last.get(name))
        if f or lst:
            lines.append(f"{name}\t{f}{lst}")
    return lines


def build_english(lexeme_prob: Path) -> list[str]:
    """Lower-case words whose lower-case form is frequent and not rarer than the capitalised."""
    with gzip.open(lexeme_prob, "rt", encoding="utf-8") as handle:
        probs: dict[str, float] = json.load(handle)
    words = []
    for word, logprob in probs.items():
        if not _WORD.match(word) or logprob < COMMON_LOGPROB:
            continue
        if logprob >= probs.get(word[:1].upper() + word[1:], -99.0):
            words.append(word)
    return sorted(words)


def _write(path: Path, lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode("utf-8")
    # mtime=0 keeps the file byte-identical across rebuilds.
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))


def main(argv: list[str] | None = None) -> None:
    """Write names.tsv.gz and english.txt.gz into --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names-dir", type=Path, required=True)
    parser.add_argument("--lexeme-prob", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    _write(args.out / "names.tsv.gz", build_names(args.names_dir))
    _write(args.out / "english.txt.gz", build_english(args.lexeme_prob))


if __name__ == "__main__":
    main()
