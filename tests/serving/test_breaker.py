"""The circuit breaker: closed, open after N consecutive failures, one trial when half-open."""

from __future__ import annotations

from serving.breaker import CircuitBreaker
from tests.serving.standin import (
    FakeClock,
)


def test_breaker_stays_closed_below_failure_threshold():
    breaker = CircuitBreaker(3, 30.0, clock=FakeClock())

    assert breaker.record_failure() is False
    assert breaker.record_failure() is False

    assert breaker.state == "closed"
    assert breaker.allow()


def test_breaker_opens_when_failures_reach_threshold():
    clock = FakeClock()
    breaker = CircuitBreaker(2, 30.0, clock=clock)

    breaker.record_failure()
    opened = breaker.record_failure()

    assert opened is True
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.advance(10.0)
    assert breaker.get_retry_in() == 20.0


def test_breaker_counts_only_consecutive_failures():
    breaker = CircuitBreaker(2, 30.0, clock=FakeClock())

    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()

    assert breaker.state == "closed"


def test_breaker_half_open_lets_exactly_one_trial_through_after_reset_time():
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30.0, clock=clock)
    breaker.record_failure()

    clock.advance(30.0)

    assert breaker.state == "half-open"
    assert breaker.allow() is True
    assert breaker.allow() is False
    assert breaker.allow() is False


def test_breaker_closes_when_trial_succeeds():
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30.0, clock=clock)
    breaker.record_failure()
    clock.advance(30.0)
    breaker.allow()

    breaker.record_success()

    assert breaker.state == "closed"
    assert breaker.allow()
    assert breaker.allow()


def test_breaker_reopens_for_full_reset_time_when_trial_fails():
    clock = FakeClock()
    breaker = CircuitBreaker(3, 30.0, clock=clock)
    for _ in range(3):
        breaker.record_failure()
    clock.advance(45.0)
    assert breaker.allow()

    reopened = breaker.record_failure()

    assert reopened is True
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.get_retry_in() == 30.0
    clock.advance(30.0)
    assert breaker.allow()


def test_breaker_allows_a_new_trial_when_the_last_was_abandoned():
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30.0, clock=clock)
    breaker.record_failure()
    clock.advance(30.0)
    assert breaker.allow() is True

    breaker.record_abandoned()  # the caller cancelled: no verdict on the endpoint

    assert breaker.state == "half-open"
    assert breaker.allow() is True
