"""The RAG benchmark's workload: a synthetic support corpus, its queries, and measuring tools.

The corpus is generated at run time from source files (the sample knowledge base by default):
articles are recombined section by section, brand, plan names and numbers are substituted with a
seeded RNG, and FAQ rows become short question-and-answer documents. Nothing is copied into
the project; the same sources, seed and chunk target always give the same documents.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import measure
from measure import percentile

from rag.chunking import chunk_document
from rag.formats import parse_html, parse_markdown, parse_text
from rag.types import Chunk, SourceDocument

BRANDS = (
    "Nimbus", "Aster", "Borealis", "Cobalt", "Dovetail", "Ember", "Fennel", "Glacier",
    "Harbor", "Ionic", "Juniper", "Kestrel", "Lumen", "Meridian", "Nova", "Orchard",
    "Pinnacle", "Quartz", "Ridgeline", "Sable", "Tundra", "Umber", "Vesper", "Willow",
    "Zephyr", "Alder", "Brisk", "Cedar", "Delta", "Evergreen", "Falcon", "Granite", "Heron",
    "Indigo", "Jasper",
)  # fmt: skip
PLANS = (
    "Basic", "Plus", "Pro", "Family", "Business", "Premium", "Starter", "Essentials",
    "Unlimited", "Team", "Lite", "Max",
)  # fmt: skip
TITLE_SUFFIXES = (
    "", "", " on iOS", " on Android", " on the web", " in the EU", " in the UK", " in Canada",
    " for business accounts", " for {brand} {plan}", " ({brand} Hub v{n})",
)  # fmt: skip
QUERY_TEMPLATES = (
    "{t}", "{t}?", "how do I {t}", "how can I {t}", "help with {t}", "{t} not working",
    "question about {t}", "I need to {t} please",
)  # fmt: skip
_NUMBER = re.compile(r"\b\d+\b")
_LIST_ITEM = re.compile(r"^\s*\d+\.\s")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")
_DOCUMENT_SUFFIXES = {".md": parse_markdown, ".markdown": parse_markdown, ".html": parse_html}


@dataclass(frozen=True)
class Article:
    """One source unit: a title and its sections (heading, paragraphs); FAQ rows have one."""

    topic: str
    title: str
    sections: tuple[tuple[str, tuple[str, ...]], ...]
    faq: bool = False


@dataclass
class Corpus:
    """Generated documents, their chunks (default chunking) and the texts the pipeline embeds."""

    documents: list[SourceDocument]
    chunks: list[list[Chunk]]
    sources: list[str]

    @property
    def chunk_count(self) -> int:
        """Chunks over all documents."""
        return sum(len(c) for c in self.chunks)


def read_articles(paths: Sequence[Path]) -> list[Article]:
    """Articles from folders (walked in name order) and files: md, html, txt, FAQ jsonl."""
    files: list[Path] = []
    for path in paths:
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    articles: list[Article] = []
    for file in files:
        topic, suffix = file.parent.name or "kb", file.suffix.lower()
        if suffix in _DOCUMENT_SUFFIXES:
            parsed = _DOCUMENT_SUFFIXES[suffix](file.read_bytes(), file.name)
            sections = _sections(parsed.text)
            articles.append(Article(topic, parsed.title or file.stem, sections))
        elif suffix == ".txt":
            text = parse_text(file.read_bytes(), file.name).text
            articles.append(Article(topic, file.stem.replace("-", " "), (("", _paras(text)),)))
        elif suffix == ".jsonl":
            articles += _faq_rows(file)
    if not articles:
        named = ", ".join(map(str, paths))
        raise SystemExit(f"no usable sources (md, html, txt, jsonl) under {named}")
    return articles


def _faq_rows(file: Path) -> list[Article]:
    """FAQ rows (question + answer, or title + text) as one-section articles."""
    rows = []
    for line in file.read_text(encoding="utf-8").splitlines():
        row = json.loads(line) if line.strip() else {}
        title = str(row.get("question") or row.get("title") or "")
        body = str(row.get("answer") or row.get("text") or "")
        if title and body:
            rows.append(Article(file.stem, title, (("", _paras(body)),), faq=True))
    return rows


def _paras(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in re.split(r"\n\s*\n", text) if p.strip())


def _sections(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Split markdown at its headings below the title; drop the H1 line itself."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for paragraph in _paras(text):
        heading, body = _HEADING.match(paragraph.split("\n", 1)[0]), paragraph
        if heading:
            body = paragraph.partition("\n")[2].strip()
            if len(heading.group(1)) > 1:  # the H1 is the title, already known
                sections.append((heading.group(2).strip(), []))
        if body:
            sections[-1][1].append(body)
    return tuple((h, tuple(p)) for h, p in sections if p)


class _Substitution:
    """One document's brand, plan names and numbers."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.brand = rng.choice(BRANDS)
        self.plans = dict(zip(("Basic", "Plus", "Pro"), rng.sample(PLANS, 3), strict=True))

    def apply(self, text: str) -> str:
        text = re.sub(r"\bNimbus\b", self.brand, text).replace("nimbus", self.brand.lower())
        text = re.sub(r"\b(Basic|Plus|Pro)\b", lambda m: self.plans[m.group(1)], text)
        return _NUMBER.sub(self._number, text)

    def _number(self, match: re.Match[str]) -> str:
        line_start = match.string.rfind("\n", 0, match.start()) + 1
        if _LIST_ITEM.match(match.string[line_start : match.end() + 2]) or self.rng.random() < 0.5:
            return match.group()  # keep list numbering, and half of the figures
        digits = len(match.group())
        return str(self.rng.randint(10 ** (digits - 1) if digits > 1 else 1, 10**digits - 1))


def _article_document(articles: Sequence[Article], rng: random.Random, n: int) -> SourceDocument:
    """A markdown article: a base article's sections, some borrowed ones, substituted."""
    long = [a for a in articles if not a.faq] or list(articles)
    base = rng.choice(long)
    sub = _Substitution(rng)
    suffix = rng.choice(TITLE_SUFFIXES).format(brand=sub.brand, plan="Plus", n=rng.randint(2, 5))
    title = sub.apply(base.title + suffix)
    same_topic = [a for a in long if a.topic == base.topic and a is not base] or long
    sections = [s for s in base.sections if rng.random() < 0.85] or list(base.sections[:1])
    for _ in range(rng.randint(0, 2)):
        sections.insert(rng.randint(0, len(sections)), rng.choice(rng.choice(same_topic).sections))
    parts = [f"# {title}"]
    for heading, paragraphs in sections:
        body = list(paragraphs)
        for _ in range(rng.choice((1, 2, 2, 3))):  # borrowed paragraphs: longer, less uniform
            body.append(rng.choice(rng.choice(rng.choice(same_topic).sections)[1]))
        parts += ([f"## {heading}"] if heading else []) + body
    return SourceDocument(
        doc_id=f"bench/{base.topic}/{n:05d}",
        title=title,
        text=sub.apply("\n\n".join(parts)),
        source=f"bench://{base.topic}/{n:05d}.md",
        format="markdown",
        language="en",
    )


def _faq_document(faqs: Sequence[Article], rng: random.Random, n: int) -> SourceDocument:
    """A plain-text FAQ entry: question, then one or two answers, substituted."""
    first = rng.choice(faqs)
    sub = _Substitution(rng)
    answers = list(first.sections[0][1])
    if rng.random() < 0.3:
        answers += rng.choice(faqs).sections[0][1]
    title = sub.apply(first.title)
    return SourceDocument(
        doc_id=f"bench/faq/{n:05d}",
        title=title,
        text=sub.apply("\n\n".join([first.title, *answers])),
        source=f"bench://faq/{n:05d}.txt",
        format="text",
        language="en",
    )


def build_corpus(
    sources: Sequence[Path], target_chunks: int, seed: int, *, chunk_size: int, chunk_overlap: int
) -> Corpus:
    """Documents until the chunk target is reached (about 1 in 4 is a FAQ entry, if any)."""
    articles = read_articles(sources)
    faqs = [a for a in articles if a.faq]
    rng = random.Random(seed)
    corpus = Corpus([], [], [str(p) for p in sources])
    total = 0
    while total < target_chunks:
        n = len(corpus.documents)
        make_faq = faqs and rng.random() < 0.25
        doc = _faq_document(faqs, rng, n) if make_faq else _article_document(articles, rng, n)
        chunks = chunk_document(doc, chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        corpus.documents.append(doc)
        corpus.chunks.append(chunks)
        total += len(chunks)
    return corpus


def embed_groups(corpus: Corpus, group_chunks: int, title_vectors: bool) -> list[list[str]]:
    """The texts KnowledgeBase embeds, in its groups: chunk embed_texts, then each title."""
    groups: list[list[str]] = []
    texts: list[str] = []
    pending = 0
    for doc, chunks in zip(corpus.documents, corpus.chunks, strict=True):
        texts += [c.embed_text for c in chunks]
        if title_vectors and doc.title.strip() and chunks:
            texts.append(doc.title.strip())
        pending += len(chunks)
        if pending >= group_chunks:  # the same rule as KnowledgeBase.ingest
            groups.append(texts)
            texts, pending = [], 0
    return [*groups, texts] if texts else groups


def make_queries(corpus: Corpus, count: int, seed: int) -> list[str]:
    """Questions from document titles, lightly perturbed (case, a dropped word, a typo)."""
    rng = random.Random(seed + 1)
    queries = []
    for _ in range(count):
        title = rng.choice(corpus.documents).title
        question = title.endswith("?")
        words = title.rstrip("?").split()
        if len(words) > 3 and rng.random() < 0.4:
            del words[rng.randrange(len(words))]
        if rng.random() < 0.2:
            i = rng.randrange(len(words))
            if len(words[i]) > 4:
                j = rng.randrange(1, len(words[i]) - 1)
                words[i] = words[i][:j] + words[i][j + 1 :]
        text = " ".join(words)
        text = text[0].lower() + text[1:] if rng.random() < 0.7 else text
        templates = QUERY_TEMPLATES[:2] if question else QUERY_TEMPLATES
        queries.append(rng.choice(templates).format(t=text))
    return queries


def words_per_chunk(corpus: Corpus) -> dict[str, float]:
    """Chunk length in whitespace words: mean and percentiles."""
    sizes = [len(c.text.split()) for chunks in corpus.chunks for c in chunks]
    return {
        "mean": round(sum(sizes) / len(sizes), 1),
        **{f"p{q}": round(percentile(sizes, q), 1) for q in (10, 50, 90)},
    }


@dataclass
class StageClock:
    """Seconds and calls per named stage, and per stage since the last `current.clear()`."""

    seconds: dict[str, float] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    current: dict[str, float] = field(default_factory=dict)
    history: dict[str, list[float]] = field(default_factory=dict)

    def wrap(self, name: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """`func`, timed under `name`."""

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
                self.calls[name] = self.calls.get(name, 0) + 1
                self.current[name] = self.current.get(name, 0.0) + elapsed
                self.history.setdefault(name, []).append(elapsed)

        return timed


@contextlib.contextmanager
def patched(target: Any, name: str, value: Any) -> Iterator[None]:
    """Replace an attribute (an instance's method or a module's name) for the block."""
    had = name in vars(target)
    old = vars(target).get(name)
    setattr(target, name, value)
    try:
        yield
    finally:
        if had:
            setattr(target, name, old)
        else:
            delattr(target, name)


RAG_PACKAGES = (
    "torch", "sentence-transformers", "transformers", "pymilvus", "milvus-lite", "faiss-cpu",
    "pyarrow", "llama-index-core", "SQLAlchemy",
)  # fmt: skip


def machine_info() -> dict[str, Any]:
    """The machine and the versions that shape the RAG numbers."""
    return measure.machine_info(RAG_PACKAGES)
