"""VADER's rules over our own lexicons: word valence, negation, intensifiers and emphasis."""

from __future__ import annotations

import math
import re

from helpdesk.signals.lexicon import PLACEHOLDER, Lexicon
from helpdesk.signals.text import fold

# VADER's constants (Hutto and Gilbert 2014), so every language reads on the same scale.
CAPS_INCREMENT = 0.733
NEGATION_SCALAR = -0.74
EXCLAMATION_INCREMENT = 0.292
MAX_EXCLAMATIONS = 4
NORMALIZATION_ALPHA = 15.0
NEGATION_WINDOW = 3
# A booster two or three words away counts less than one right before the word.
_BOOSTER_DECAY = (1.0, 0.95, 0.9)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")


def normalize(total: float) -> float:
    """VADER's squashing of a valence sum into (-1, 1)."""
    return total / math.sqrt(total * total + NORMALIZATION_ALPHA)


def lexicon_compound(text: str, lexicon: Lexicon) -> float:
    """A VADER-style compound score in [-1, 1] of `text` under `lexicon`."""
    marked = lexicon.mark_phrases(text)
    raw = _WORD.findall(marked)
    tokens = [fold(token) for token in raw]
    shouting = _is_mixed_case(raw)
    valences: list[float] = []
    for index, token in enumerate(tokens):
        value = lexicon.words.get(token)
        if value is None:
            valences.append(0.0)
            continue
        if shouting and raw[index].isupper() and len(raw[index]) > 1:
            value += math.copysign(CAPS_INCREMENT, value)
        value = _boost(value, tokens, index, lexicon)
        # A phrase carries its own negation ("personne ne répond"); only words are flipped.
        if not token.startswith(PLACEHOLDER) and _negated(tokens, index, lexicon):
            value *= NEGATION_SCALAR
        valences.append(value)
    total = sum(_contrasted(valences, tokens, lexicon))
    if total:
        bangs = min(marked.count("!"), MAX_EXCLAMATIONS)
        total += math.copysign(bangs * EXCLAMATION_INCREMENT, total)
    return round(normalize(total), 4) if total else 0.0


def _is_mixed_case(raw: list[str]) -> bool:
    """Capitals stand out only when some words are not in capitals (VADER's rule)."""
    upper = sum(1 for token in raw if token.isupper() and len(token) > 1)
    return 0 < upper < len(raw)


def _boost(value: float, tokens: list[str], index: int, lexicon: Lexicon) -> float:
    for distance, decay in enumerate(_BOOSTER_DECAY, 1):
        if index - distance < 0:
            break
        boost = lexicon.boosters.get(tokens[index - distance])
        if boost is not None:
            value += math.copysign(boost * decay, value)
    return value


def _negated(tokens: list[str], index: int, lexicon: Lexicon) -> bool:
    before = tokens[max(0, index - NEGATION_WINDOW) : index]
    after = tokens[index + 1 : index + 1 + lexicon.negation_after]
    return any(token in lexicon.negations for token in (*before, *after))


def _contrasted(valences: list[float], tokens: list[str], lexicon: Lexicon) -> list[float]:
    """VADER's "but" rule: what follows the contrast word weighs 1.5, what precedes 0.5."""
    turns = [i for i, token in enumerate(tokens) if token in lexicon.contrast]
    if not turns:
        return valences
    turn = turns[0]
    return [v * (0.5 if i < turn else 1.5 if i > turn else 1.0) for i, v in enumerate(valences)]
