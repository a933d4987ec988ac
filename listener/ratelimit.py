"""A thread-safe sliding-window request limiter with an injectable clock (our own cap, whatever headers say)."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)


class RequestLimiter:
    """At most `limit` requests in any `window` seconds; a caller over the limit sleeps until a slot frees."""

    def __init__(self, limit: int, window: float = 60.0, *, name: str = "requests",
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a limiter needs limit >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.name = name
        self.clock = clock
        self.sleep = sleep
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one slot, waiting for it when the window is full; returns the seconds waited."""
        waited = 0.0
        with self._lock:  # waiters queue on the lock: they would have to wait anyway
            while True:
                now = self.clock()
                while self._sent and now - self._sent[0] >= self.window:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                pause = max(0.0, self._sent[0] + self.window - now)
                log.info("%s: %d requests in the last %.0f s; waiting %.1f s", self.name, len(self._sent),
                         self.window, pause)
                self.sleep(pause)
                waited += pause
                self._sent.popleft()  # the oldest request has left the window now

    def in_window(self) -> int:
        """How many requests were sent within the current window."""
        with self._lock:
            now = self.clock()
            return sum(1 for t in self._sent if now - t < self.window)
