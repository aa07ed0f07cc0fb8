"""The service's answers: one computation per question at a time, and the previous answer while the next is made.

A question is a key (endpoint and parameters) and a generation (the aligned end of its window: a new step means
a new generation). For a key:

* an answer of the same generation is served as it is;
* concurrent requests for a generation being computed share that one computation (single flight);
* when the stored answer is of an older generation and at most `stale_for` seconds old, it is served at once
  (with its age) and the new generation is computed in the background; older than that, the request waits.

The computation is shared: a waiter that gives up (its own timeout) does not cancel it, so its answer is ready
for the next request.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

LOG = logging.getLogger("stereo.serve")


@dataclass(frozen=True)
class Answer:
    body: bytes
    generation: int
    made: float  # time.monotonic() when it was computed

    def age(self) -> float:
        return time.monotonic() - self.made


class Answers:
    def __init__(self, size: int, stale_for: float, count: Callable[[str], None] = lambda result: None) -> None:
        self.size, self.stale_for, self.count = size, stale_for, count
        self._done: OrderedDict[Hashable, Answer] = OrderedDict()
        self._flights: dict[tuple[Hashable, int], asyncio.Future[Answer]] = {}

    async def get(self, key: Hashable, generation: int, compute: Callable[[], Awaitable[bytes]],
                  timeout: float) -> Answer:
        """The answer for (key, generation), computing it at most once at a time; TimeoutError after `timeout`
        seconds of waiting (the computation goes on)."""
        have = self._done.get(key)
        if have is not None and have.generation >= generation:
            self._done.move_to_end(key)
            self.count("hit")
            return have
        flight = self._flights.get((key, generation))
        if flight is None:
            flight = self._flights[(key, generation)] = asyncio.ensure_future(self._run(key, generation, compute))
        if have is not None and have.age() <= self.stale_for:
            self.count("stale")
            return have
        self.count("miss")
        return await asyncio.wait_for(asyncio.shield(flight), timeout)

    async def _run(self, key: Hashable, generation: int, compute: Callable[[], Awaitable[bytes]]) -> Answer:
        try:
            answer = Answer(await compute(), generation, time.monotonic())
            old = self._done.get(key)
            if self.size > 0 and (old is None or old.generation <= generation):
                self._done[key] = answer
                self._done.move_to_end(key)
                while len(self._done) > self.size:
                    self._done.popitem(last=False)
            return answer
        finally:
            flight = self._flights.pop((key, generation), None)
            if flight is not None:
                flight.add_done_callback(_quiet)


def _quiet(flight: asyncio.Future[Any]) -> None:
    """Nobody may be waiting for a background computation: its error is logged, not left unretrieved."""
    if not flight.cancelled() and flight.exception() is not None:
        LOG.debug("background computation failed: %s", flight.exception())
