"""Stop sequences over streamed text: hold back just enough to never emit part of a stop."""

from __future__ import annotations

from collections.abc import Sequence


class StopScanner:
    """Feed text pieces; get back what is safe to emit; `stopped` once a stop string appears."""

    def __init__(self, stops: Sequence[str]) -> None:
        self.stops = tuple(s for s in stops if s)
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._pending = ""
        self.stopped = False

    def feed(self, piece: str) -> str:
        """Add streamed text; return the part that can be emitted now."""
        if self.stopped:
            return ""
        self._pending += piece
        cut = self._find_stop()
        if cut is not None:
            self.stopped = True
            out, self._pending = self._pending[:cut], ""
            return out
        if not self.stops or len(self._pending) <= self._hold:
            out = "" if self.stops else self._pending
            self._pending = self._pending if self.stops else ""
            return out
        out = self._pending[: len(self._pending) - self._hold]
        self._pending = self._pending[len(out) :]
        return out

    def flush(self) -> str:
        """The held-back tail at the end of the stream."""
        out, self._pending = ("" if self.stopped else self._pending), ""
        return out

    def _find_stop(self) -> int | None:
        hits = [i for i in (self._pending.find(s) for s in self.stops) if i >= 0]
        return min(hits) if hits else None
