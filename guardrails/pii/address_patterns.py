"""Regular expressions of street addresses in the common postal formats (see `addresses`)."""

from __future__ import annotations

import re


def _words(text: str) -> tuple[str, ...]:
    """The white-space separated words of `text`."""
    return tuple(text.split())


# English street types (USPS Publication 28 and British usage); they follow the street name.
STREET_SUFFIXES = _words(
    """street st avenue ave av road rd drive dr lane ln way place pl court ct square sq boulevard
    blvd terrace ter crescent cres close parkway pkwy highway hwy circle cir trail trl row alley
    walk gardens grove hill hills park mews rise view green greens heights loop crossing
    crossroad creek cliff cliffs flat flats mall bypass forge forges mill mills parks plaza
    point port ridge route valley vista wells expressway extension falls ferry field fields ford
    fort freeway garden gateway glen harbor harbour haven hollow inlet island junction knoll
    lake landing lodge manor meadow meadows motorway mount mountain orchard oval path pike pines
    plain plains prairie ranch rapids river shoal shore shores skyway spring springs squares
    stream summit trace track turnpike underpass villages village ville estate estates brook
    brooks burg center centre corner corners cove dale divide glens groves isle lakes lights
    locks neck radial ramp spur stravenue streets throughway trafficway tunnel viaduct str"""
)
# Street types that precede the name (Romance, Slavic, Greek, Turkish, Malay); "31 Rue ...".
# Capitalised only: several are English words too ("via", "route").
STREET_PREFIXES = _words(
    """rua rue via viale vicolo piazza piazzale corso largo calle c/ avenida avda av. avenue paseo
    plaza praça praca travessa alameda estrada rodovia carrer rúa camino carretera ronda
    travesía glorieta rambla chemin boulevard bd allée allee impasse quai strada str. ul. ulica
    al. aleja os. osiedle pl. plac odos οδός leoforos λεωφόρος bulevardul calea sokak cadde
    caddesi jalan jl."""
)
# Prefixes that are written in lower case too ("26 rue des Lilas", "ul. Miła 57").
LOWERCASE_PREFIXES = ("rua", "rue", "rúa", "ul.", "al.", "os.", "pl.", "c/", "str.", "jl.")
# Street types written into the name or as their own word (Germanic, Nordic, Baltic, Finnish).
STREET_COMPOUNDS = _words(
    """straße strasse str. gasse weg allee platz ring damm ufer steig pfad chaussee gade vej vænget
    stræde gata gatan vägen väg gränd stig veien vegen vei gate gaten stien laan straat gracht
    kade plein singel dreef hof katu tie kuja polku raitti stræti straeti vegur braut gatve iela
    tänav utca terrasse plass torg"""
)
# Hungarian street types follow the name and are often abbreviated ("Kálmán Imre u. 12.").
HUNGARIAN_TYPES = ("u.", "utca", "út", "útja", "tér", "krt.", "körút", "rkp.", "sor", "köz")


def _alternation(words: tuple[str, ...]) -> str:
    # Longest first, so that "street" wins over "st".
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))


_L = r"[^\W\d_]"
_CAP = r"(?:[A-ZÀ-ÖØ-ÞĀ-ŽΑ-ΩΆ-ΏА-ЯЁ][\w'\u2019.-]*)"
_WORD = rf"(?:{_L}[\w'\u2019.-]*)"
_NAMEWORD = rf"(?:{_CAP}|\d{{1,3}}(?:st|nd|rd|th))"
# A word of a city or country line: letters only ("NW1" is a postcode, not a city).
_CITYWORD = r"(?:[A-ZÀ-ÖØ-ÞĀ-ŽΑ-ΩΆ-ΏА-ЯЁ][^\W\d_]*(?:['\u2019.-][^\W\d_]+)*)"
_NUMBER = r"\d{1,5}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
_SUFFIX = _alternation(STREET_SUFFIXES)
_PREFIX = (
    _alternation(tuple(p[:1].upper() + p[1:] for p in STREET_PREFIXES) + LOWERCASE_PREFIXES)
    + "|"
    + _alternation(tuple(p.upper() for p in STREET_PREFIXES))
)
_PARTICLE = r"(?:de|des|del|della|do|da|dos|das|du|di|la|le|of)"
_COMPOUND = _alternation(STREET_COMPOUNDS)
_HUNGARIAN = _alternation(HUNGARIAN_TYPES)
UNIT = (
    r"(?:Apt|Apartment|Suite|Ste|Unit|Flat|Room|Rm|Floor|Fl|Bldg|Building|Lot)\.?\s?#?\s?"
    r"\d{1,5}[A-Za-z]?\b"
)
POBOX = (
    r"(?:P\.?\s?O\.?\s?Box|Post\s?Office\s+Box|Postbox|Postfach|Apartado(?:\s+de\s+correos)?"
    r"|Caixa\s+Postal|Case\s+postale|Bo[iî]te\s+postale|Skrytka\s+pocztowa)\s?#?\s?\d{1,6}\b"
)

# (name, pattern, score); the whole match is the address unless a group `addr` is present.
PATTERNS: tuple[tuple[str, re.Pattern[str], float], ...] = (
    (
        "military",
        re.compile(
            r"\b(?:PSC|CMR|Unit)\s+\d{3,5},?\s+Box\s+\d{3,5}\s*,?\s*(?:APO|FPO|DPO)\s+"
            r"(?:AA|AE|AP)\s+\d{5}(?:-\d{4})?\b"
            r"|\b(?:USNS|USNV|USS|USCGC)\s+[^\W\d_][\w'\u2019-]*(?:\s+[^\W\d_][\w'\u2019-]*)?\s*,?\s*FPO\s+"
            r"(?:AA|AE|AP)\s+\d{5}(?:-\d{4})?\b",
            re.IGNORECASE,
        ),
        0.95,
    ),
    ("po_box", re.compile(rf"\b{POBOX}", re.IGNORECASE), 0.8),
    (
        "number_street_suffix",
        re.compile(
            rf"\b(?:\d{{1,5}}[ \t]+)?{_NUMBER},?[ \t]+(?:{_NAMEWORD}[ \t]+){{1,4}}"
            rf"(?i:{_SUFFIX})\b\.?"
        ),
        0.85,
    ),
    (
        "prefix_street_number",
        re.compile(
            rf"(?<![\w/])(?:{_PREFIX})[ \t]+(?:{_CAP}|{_PARTICLE})(?:[ \t]+{_WORD}){{0,4}}?"
            rf"[ \t]+{_NUMBER}\b"
        ),
        0.85,
    ),
    (
        "number_prefix_street",
        re.compile(rf"\b{_NUMBER},?[ \t]+(?:{_PREFIX})[ \t]+(?:{_WORD}[ \t]+){{0,4}}{_WORD}"),
        0.85,
    ),
    (
        "compound_street_number",
        re.compile(rf"\b(?:{_CAP}[ \t]+(?i:{_COMPOUND})|{_CAP}(?i:{_COMPOUND}))[ \t]+{_NUMBER}\b"),
        0.8,
    ),
    (
        "hungarian",
        re.compile(rf"\b{_CAP}(?:[ \t]+{_CAP}){{0,2}}[ \t]+(?:{_HUNGARIAN})[ \t]+{_NUMBER}\.?"),
        0.8,
    ),
    (
        "postcode_street_number",
        re.compile(rf"\b\d{{3,5}}[ \t]+{_CAP}(?:[ \t]+{_CAP}){{0,2}}[ \t]+{_NUMBER}\b"),
        0.6,
    ),
    (
        "cue_street_number",
        re.compile(
            r"(?i:\b(?:lives?|living|located|station is|stop|is|are)\s+(?:at|on|in)"
            r"|\baddress(?:es)?(?:\s+is)?\s*:?|\b(?:ship(?:ped)?|send|sent|deliver(?:ed)?"
            r"|return|moved|mail(?:ed)?|post(?:ed)?)\s+(?:it\s+|them\s+)?to"
            r"|\bvalidate the following\?)\s+"
            rf"(?P<addr>{_CAP}(?:[ \t]+{_WORD}){{0,3}}[ \t]+{_NUMBER})\b"
        ),
        0.7,
    ),
    (
        "corner",
        re.compile(
            rf"(?i:\bthe corner of)\s+[^\n,?!]{{3,60}}?\s+and\s+{_CAP}(?:[ \t]+{_CAP}){{0,3}}"
        ),
        0.8,
    ),
    (
        "named_street",
        re.compile(
            rf"\b{_CAP}(?:[ \t]+{_CAP}){{0,2}}[ \t]+(?:Street|Avenue|Road|Boulevard|Lane|Drive"
            r"|Strasse|Straße)\b"
        ),
        0.55,
    ),
    ("unit", re.compile(rf"\b{UNIT}", re.IGNORECASE), 0.55),
)

# What may follow an address: a separator, then a unit, a box, a postcode, a state or a city.
_SEPARATOR = r"(?:[ \t]*[,\n>|•·](?:[ \t]*[,\n>|•·])?[ \t]*|[ \t]{1,4})"
_POSTCODE = (
    r"\d{4,6}(?:-\d{3,4})?|\d{2,3}-\d{3}|[A-Z]\d[A-Z][ ]?\d[A-Z]\d"
    r"|[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}"
)
CONTINUATION = re.compile(
    rf"{_SEPARATOR}(?P<seg>(?i:{UNIT})|(?i:{POBOX})|(?:{_POSTCODE})\b"
    rf"|(?P<words>{_CITYWORD}(?:[ \t]+(?:{_CITYWORD}|de|del|da|do|nad|upon|on|la|le|du|sur))*)"
    r")(?![\w'\u2019-])"
)
