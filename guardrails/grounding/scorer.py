"""CPU scoring of a draft: claims, evidence, one embedding batch, features, calibrated support."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from guardrails.grounding.claims import Claim, extract_claims
from guardrails.grounding.evidence import Evidence, build_evidence, pick_candidates
from guardrails.grounding.features import ClaimFeatures, compute_features, strip_identifiers
from guardrails.grounding.lexicon import get_content_stems
from guardrails.grounding.model import FACTOID_WORDS, HARD_FAIL_SUPPORT, ClaimSupportModel
from models.embedder import Embedder

# Passage sentences embedded per claim (the rest get no vector, hence similarity 0); a second
# one per claim cost a third more embedding and did not improve the cross-validated metrics.
EMBEDDED_SENTENCES_PER_CLAIM = 1


@dataclass(frozen=True)
class ScoredClaim:
    """One claim with its features and its CPU support (capped on a hard-check failure)."""

    claim: Claim
    features: ClaimFeatures
    support: float
    best_passage: int | None


def featurize(
    answer: str, passages: Sequence[str], question: str, embedder: Embedder
) -> tuple[list[Claim], Evidence, list[ClaimFeatures]]:
    """Claims of the answer and their features against the passages (one embedding call)."""
    # Only the claims and, for each, the passage sentences sharing most words with it are
    # embedded: embedding dominates the cost, and the best match is nearly always among those.
    claims = extract_claims(answer)
    evidence = build_evidence(passages, question)
    if not claims:
        return claims, evidence, []
    texts = [strip_identifiers(c.body) for c in claims]
    candidates = pick_candidates(
        [get_content_stems(t) for t in texts], evidence, EMBEDDED_SENTENCES_PER_CLAIM
    )
    vectors = embedder.embed(texts + [evidence.sentences[i].text for i in candidates])
    sentence_vectors = np.zeros((len(evidence.sentences), vectors.shape[1]), dtype=np.float32)
    sentence_vectors[candidates] = vectors[len(claims) :]
    evidence = replace(evidence, vectors=sentence_vectors)
    factoid = len(claims) == 1 and len(get_content_stems(texts[0])) <= FACTOID_WORDS
    features = [
        compute_features(claim.body, evidence, vectors[i], factoid=factoid)
        for i, claim in enumerate(claims)
    ]
    return claims, evidence, features


class GroundingScorer:
    """Scores each claim of a draft with the calibrated model over its features."""

    def __init__(self, model: ClaimSupportModel, embedder: Embedder) -> None:
        self.model = model
        self.embedder = embedder

    def score(self, answer: str, passages: Sequence[str], question: str) -> list[ScoredClaim]:
        """The draft's claims with their support in [0, 1]."""
        claims, evidence, features = featurize(answer, passages, question, self.embedder)
        if not claims:
            return []
        support = self.model.support(np.stack([f.values for f in features]))
        scored = []
        for claim, feature, value in zip(claims, features, support, strict=True):
            hard = feature.hard_failure
            best = feature.best_sentence
            scored.append(
                ScoredClaim(
                    claim=claim,
                    features=feature,
                    support=min(float(value), HARD_FAIL_SUPPORT) if hard else float(value),
                    best_passage=evidence.sentences[best].passage if best >= 0 else None,
                )
            )
        return scored
