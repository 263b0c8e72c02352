"""Sentiment: angry tickets far below zero, questions near zero, negation, bounded inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpdesk.signals import SentimentScorer
from helpdesk.signals.evaluate import evaluate_sentiment, read_sentiment_rows

DEV_FILE = Path(__file__).resolve().parents[2] / "examples" / "signals" / "sentiment_dev.jsonl"


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer()


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("This is the third time I write and it is still not fixed. Unacceptable!", "en"),
        ("I want a refund now or my lawyer will contact you.", "en"),
        ("Das ist eine Frechheit! Immer noch keine Antwort, ich schalte meinen Anwalt ein.", "de"),
        ("Ich bin total unzufrieden, das Gerät funktioniert nicht und keiner reagiert!", "de"),
        ("C'est inadmissible, toujours pas remboursé après trois semaines !", "fr"),
        ("Es inaceptable, todavía no me han devuelto el dinero.", "es"),
    ],
)
def test_score_is_below_escalation_threshold_for_angry_tickets(
    scorer: SentimentScorer, text: str, language: str
) -> None:
    assert scorer.score(text, language) < -0.6


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("How do I reset my password? Thanks in advance.", "en"),
        ("Please send me the invoice for March.", "en"),
        ("Wie ändere ich meine Lieferadresse? Vielen Dank im Voraus.", "de"),
        ("Comment changer mon mot de passe ? Merci d'avance.", "fr"),
        ("¿Cómo cambio mi contraseña? Gracias de antemano.", "es"),
    ],
)
def test_score_is_near_zero_for_polite_how_to_questions(
    scorer: SentimentScorer, text: str, language: str
) -> None:
    assert abs(scorer.score(text, language)) <= 0.3


@pytest.mark.parametrize(
    ("positive", "negated", "language"),
    [
        ("I am happy with the service", "I am not happy with the service", "en"),
        ("Ich bin zufrieden mit dem Service", "Ich bin nicht zufrieden mit dem Service", "de"),
        ("Je suis satisfait du service", "Je ne suis pas satisfait du service", "fr"),
        ("Estoy contento con el servicio", "No estoy contento con el servicio", "es"),
    ],
)
def test_score_flips_sign_when_praise_is_negated(
    scorer: SentimentScorer, positive: str, negated: str, language: str
) -> None:
    assert scorer.score(positive, language) > 0.3
    assert scorer.score(negated, language) < 0.0


def test_score_is_positive_for_thanks_after_a_fix(scorer: SentimentScorer) -> None:
    assert scorer.score("Works perfectly now, thank you so much for the quick fix!", "en") > 0.5


def test_score_rises_in_magnitude_with_exclamations_and_capitals(scorer: SentimentScorer) -> None:
    calm = scorer.score("Das ist eine Frechheit", "de")
    loud = scorer.score("Das ist eine FRECHHEIT!!!", "de")
    assert loud < calm < 0.0


def test_score_is_zero_for_empty_or_blank_text(scorer: SentimentScorer) -> None:
    assert scorer.score("", "en") == 0.0
    assert scorer.score("  \n\t ") == 0.0


def test_score_reads_a_bounded_part_of_a_megabyte_text(scorer: SentimentScorer) -> None:
    huge = "This is unacceptable, still not refunded! " + "filler words " * 80_000
    assert len(huge) > 1_000_000
    assert scorer.score(huge, "en") < -0.3


def test_score_uses_the_lexicon_that_knows_most_words_when_language_is_unknown(
    scorer: SentimentScorer,
) -> None:
    assert scorer.scoring_language("Frechheit! Unverschämt!", "") == "de"
    assert scorer.scoring_language("Hello there", "") == "en"
    assert scorer.scoring_language("Grazie mille", "it") == "en"


def test_score_detects_the_language_when_none_is_given(scorer: SentimentScorer) -> None:
    text = "Ich bin mit dem Service überhaupt nicht zufrieden, das ist eine Frechheit."
    assert scorer.scoring_language(text) == "de"
    assert scorer.score(text) < -0.6


def test_evaluation_reports_accuracy_on_the_shipped_report_half(scorer: SentimentScorer) -> None:
    rows = read_sentiment_rows(DEV_FILE, "report")
    report = evaluate_sentiment(rows, scorer)
    assert report["rows"] == 60
    assert report["accuracy"]["all"] >= 0.8
    assert report["angry_below_threshold"] >= 0.8
