"""Air-gap switches: the one place that turns off every phone-home of the libraries we use."""

from __future__ import annotations

import os

# Each value is forced, not defaulted: the operator cannot switch a library back online.
OFFLINE_ENVIRONMENT: dict[str, str] = {
    # Hugging Face hub, transformers, datasets, sentence-transformers: never reach the hub.
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    # Ray and vLLM usage statistics.
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
    "VLLM_NO_USAGE_STATS": "1",
    "VLLM_DO_NOT_TRACK": "1",
    "DO_NOT_TRACK": "1",
    # LlamaIndex must never fall back to its hosted OpenAI defaults; an empty key makes any such
    # fallback fail loudly instead of dialling out (rag sets Settings.llm/embed_model explicitly).
    "OPENAI_API_KEY": "",
    "OPENAI_BASE_URL": "http://127.0.0.1:9/airlock-offline",
}

# tldextract (presidio's URL recognizer) has no environment switch: every TLDExtract that Airlock
# constructs takes these arguments, so it never fetches the public suffix list.
TLDEXTRACT_OPTIONS: dict[str, object] = {"suffix_list_urls": (), "cache_dir": None}


def enforce_offline() -> None:
    """Force the offline environment switches; idempotent and cheap."""
    os.environ.update(OFFLINE_ENVIRONMENT)


def offline_violations() -> dict[str, str | None]:
    """Return the switches whose current value differs from the offline value (empty when sound)."""
    return {
        key: os.environ.get(key)
        for key, value in OFFLINE_ENVIRONMENT.items()
        if os.environ.get(key) != value
    }
