"""Word-level English knowledge: content words, a light stemmer, negation and antonyms."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


def words(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of a literal word list."""
    return tuple(text.split())


STOPWORDS = frozenset(
    words(
        """a about above after again all also am an and any are as at be because been before being
    both but by can could did do does doing done down during each either else even ever every
    few for from further had has have having he her here hers herself him himself his how i if
    in into is it its itself just let may me might more most much must my myself nor now of off
    on once one only or other our ours ourselves out over own per please same shall she should
    so some such than that the their theirs them themselves then there these they this those
    through thus to too under until up upon us very via was we were what when where whether
    which while who whom whose why will with within would yes yet you your yours yourself
    yourselves also 's s t d ll m re ve"""
    )
)

NEGATIONS = frozenset(
    words(
        """not no never none nobody nothing neither nor without cannot cant dont doesnt didnt isnt
    wasnt arent werent wont wouldnt shouldnt couldnt hasnt havent hadnt mustnt nowhere"""
    )
)

# Pairs of opposite words; a claim that swaps one for the other contradicts its source.
_ANTONYM_PAIRS = words(
    """increase:decrease increase:reduce increase:cut increase:lower increase:drop
raise:lower raise:cut rise:fall rise:decline rise:drop grow:shrink grow:decline gain:loss
gain:lose profit:loss earning:loss win:lose up:down higher:lower high:low above:below
over:under more:less more:fewer most:least maximum:minimum max:min before:after early:late
earlier:later first:last beginning:end start:end start:finish start:stop open:close
include:exclude including:excluding inclusive:exclusive with:without allow:prohibit
allow:forbid allow:deny accept:reject approve:reject approve:deny confirm:deny
enable:disable add:remove buy:sell import:export inbound:outbound internal:external
domestic:international upgrade:downgrade expand:contract positive:negative success:failure
succeed:fail pass:fail true:false correct:incorrect right:wrong valid:invalid legal:illegal
possible:impossible available:unavailable able:unable always:never all:none same:different
strong:weak large:small big:small long:short old:new old:young major:minor best:worst
better:worse good:bad cheap:expensive fast:slow easy:difficult easy:hard agree:disagree
support:oppose like:dislike love:hate happy:sad north:south east:west left:right
morning:evening day:night summer:winter spring:autumn public:private full:partial
paid:unpaid free:paid online:offline weekly:monthly monthly:yearly daily:weekly
increasing:decreasing strengthen:weaken improve:worsen improve:deteriorate
arrive:depart entry:exit input:output send:receive lend:borrow give:take push:pull
guilty:innocent victory:defeat peace:war ally:enemy male:female man:woman husband:wife
father:mother son:daughter brother:sister boy:girl king:queen"""
)

# Closed word classes: a claim that puts one member where its source has another has changed
# a fact ("30 days" -> "30 weeks", "yellow" -> "green", "may" -> "must").
_WORD_CLASSES = (
    "second minute hour day week month quarter year decade century",
    "monday tuesday wednesday thursday friday saturday sunday weekday weekend",
    "red orange yellow green blue purple pink brown black white grey gray silver gold",
    "north south east west northern southern eastern western",
    "spring summer autumn fall winter",
    "man woman men women boy girl male female he she his her him husband wife son daughter",
    "mother father brother sister uncle aunt",
    "all every each some any none most many several few",
    "always usually often sometimes occasionally rarely seldom never",
    "will may might must can could should would",
    "morning afternoon evening night noon midnight",
    "cm mm meter metre kilometer kilometre km mile inch foot feet yard gram kilogram kg pound "
    "ounce liter litre gallon",
    "dollar euro pound yen franc cent rupee yuan",
    "email phone chat letter fax post sms",
    "small medium large",
    "bronze silver gold platinum",
    "first second third fourth fifth",
    "next previous",  # "last" and "final" can mean either, so they swap with neither
)

_NEGATING_PREFIXES = ("non", "un", "in", "im", "il", "ir", "dis")


@lru_cache(maxsize=65536)
def normalise_token(token: str) -> str:
    """Lower-cased token without possessive or apostrophes ("Russia's" -> "russia")."""
    word = token.lower().replace("\u2019", "'")
    if word.endswith("'s"):
        word = word[:-2]
    return word.replace("'", "")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light suffix-stripping stem so that inflections of one word compare equal."""
    if len(word) <= 3 or word.isdigit():
        return word
    word = _strip_first(word, (("ies", "y"), ("es", ""), ("s", "")))
    word = _strip_first(word, (("ied", "y"), ("ing", ""), ("ed", ""), ("ly", "")))
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]
    return word


def _strip_first(word: str, suffixes: tuple[tuple[str, str], ...]) -> str:
    """The word with the first matching suffix replaced, keeping a stem of three letters."""
    for suffix, replacement in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            return word[: -len(suffix)] + replacement
    return word


_NON_PREFIX = re.compile(r"\b([Nn]on)-(?=\w)")


def get_tokens(text: str) -> list[str]:
    """Normalised word tokens of a text, in order ("non-GAAP" stays one word)."""
    return [normalise_token(t) for t in WORD.findall(_NON_PREFIX.sub(r"\1", text))]


def is_content(token: str) -> bool:
    """Whether a normalised token carries meaning (not a stopword or a stray letter)."""
    return token not in STOPWORDS and token not in NEGATIONS and (len(token) > 1 or token.isdigit())


def get_content_stems(text: str) -> list[str]:
    """Stems of the content words of a text, in order."""
    return [stem(t) for t in get_tokens(text) if is_content(t)]


def is_negation(token: str) -> bool:
    """Whether a normalised token negates ("not", "never", "doesnt", ...)."""
    return token in NEGATIONS or (token.endswith("nt") and token[:-2] in _AUX)


def get_negated_stems(tokens: Sequence[str], reach: int = 3) -> set[str]:
    """Stems of the first content word within `reach` tokens after each negation."""
    negated: set[str] = set()
    for i, token in enumerate(tokens):
        if is_negation(token):
            following = [t for t in tokens[i + 1 : i + 1 + reach] if is_content(t)]
            negated.update(stem(t) for t in following[:1])
    return negated


_AUX = frozenset(words("do does did is was are were wo would should could has have had must ca"))


def _build_antonyms() -> dict[str, frozenset[str]]:
    """Stem -> stems of its opposites, from the pair list."""
    table: dict[str, set[str]] = {}
    for pair in _ANTONYM_PAIRS:
        left, right = (stem(w) for w in pair.split(":"))
        table.setdefault(left, set()).add(right)
        table.setdefault(right, set()).add(left)
    return {k: frozenset(v) for k, v in table.items()}


ANTONYMS = _build_antonyms()
WORD_CLASS: dict[str, int] = {}
for _number, _members in enumerate(_WORD_CLASSES):
    for _word in words(_members):
        WORD_CLASS.setdefault(stem(_word), _number)  # the first class named keeps a shared stem


def get_opposites(word: str) -> set[str]:
    """Stems that contradict a stem: listed antonyms and negating-prefix variants."""
    opposites = set(ANTONYMS.get(word, ()))
    for prefix in _NEGATING_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            opposites.add(word[len(prefix) :])
        opposites.add(prefix + word)
    return opposites
