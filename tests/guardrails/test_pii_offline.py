"""The PII guard never dials out: no suffix-list fetch, no model download."""

from __future__ import annotations

import socket
import warnings

import pytest
import pytest_socket

from airlock.settings import AirlockSettings
from guardrails.pii import build_pii_guard
from guardrails.pii.recognizers import get_tld_extractor


def test_analysis_of_emails_and_urls_opens_no_socket(pii_settings: AirlockSettings) -> None:
    get_tld_extractor.cache_clear()  # the suffix list loads again, under the block
    text = (
        "Write to anna.berg@mail.example.co.uk or see https://help.example.com/faq and "
        "www.shop-example.de/returns for the forms."
    )
    pytest_socket.disable_socket(allow_unix_socket=False)
    try:
        with (
            pytest.warns(UserWarning, match="socket"),
            pytest.raises(pytest_socket.SocketBlockedError),
        ):
            socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # the block is on
        # pytest-socket warns on every blocked attempt, even one a library catches and hides.
        with warnings.catch_warnings(record=True) as attempts:
            warnings.simplefilter("always")
            guard = build_pii_guard(pii_settings)
            found = {(e.type, text[e.start : e.end]) for e in guard.analyze(text)}
    finally:
        pytest_socket.enable_socket()
    assert [str(w.message) for w in attempts if "socket" in str(w.message)] == []
    assert ("EMAIL_ADDRESS", "anna.berg@mail.example.co.uk") in found
    assert ("URL", "https://help.example.com/faq") in found
    assert ("URL", "www.shop-example.de/returns") in found
