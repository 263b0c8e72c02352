"""The ticket domain: classification of support tickets (intents first)."""
