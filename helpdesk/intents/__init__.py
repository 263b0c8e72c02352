"""Intent classification of support tickets with out-of-scope detection."""

from helpdesk.intents.data import MAX_TEXT_CHARS, OOS_LABEL, read_labelled
from helpdesk.intents.fit import train_intent_model
from helpdesk.intents.manifest import load_intent_model
from helpdesk.intents.metrics import evaluate_intents
from helpdesk.intents.model import DEFAULT_MODEL_DIR, IntentModel, IntentPrediction

__all__ = [
    "DEFAULT_MODEL_DIR",
    "MAX_TEXT_CHARS",
    "OOS_LABEL",
    "IntentModel",
    "IntentPrediction",
    "evaluate_intents",
    "load_intent_model",
    "read_labelled",
    "train_intent_model",
]
