"""Micro-batching: calls made from many threads at once, run together as one batch.

A caller hands in its item and blocks until its own result is back. Runner threads take
whatever is waiting the moment they become free and run it as one batch, so a lone call
never waits for company (no timer), while under load the batches grow by themselves to
what arrives during one run. Used for the model (one forward pass for many images) and
for predictions (one database read, write and notification for many, and one task to send).
"""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_STOP = object()

log = logging.getLogger(__name__)


class MicroBatcher(Generic[Item, Result]):
    """``run(items) -> results`` (one result per item, in order), called by ``threads``
    runner threads on batches that stop growing once they hold ``max_size``, counted by
    ``size(item)``.

    An item of ``max_size`` or more, or one submitted after ``close()``, is run at once in
    the caller's thread. If ``run`` raises, every caller in that batch gets the exception.
    """

    def __init__(self, run: Callable[[list[Item]], Sequence[Result]], *, max_size: int, name: str,
                 size: Callable[[Item], int] = lambda _item: 1, threads: int = 1,
                 after_batch: Callable[[], None] | None = None):
        self._run = run
        self._size = size
        self._max_size = max_size
        self._after_batch = after_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._threads = threads
        for index in range(threads):
            threading.Thread(target=self._run_forever, name=f"{name}-{index}", daemon=True).start()

    def submit(self, item: Item) -> Result:
        """Run ``item`` in the next batch and return its result (or raise its error)."""
        future: Future | None = Future()
        with self._lock:
            if self._closed or self._size(item) >= self._max_size:
                future = None
            else:
                self._queue.put((item, future))
        if future is None:
            return self._run([item])[0]
        return future.result()

    def close(self) -> None:
        """Stop the runner threads once the callers already queued are answered; later
        callers run in their own thread."""
        with self._lock:
            self._closed = True
            for _ in range(self._threads):
                self._queue.put(_STOP)

    def _run_forever(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            waiting = [first]
            count = self._size(first[0])
            while count < self._max_size:
                try:
                    entry = self._queue.get_nowait()
                except queue.Empty:
                    break
                if entry is _STOP:
                    self._queue.put(_STOP)  # stop after this batch
                    break
                waiting.append(entry)
                count += self._size(entry[0])
            try:
                results = self._run([item for item, _ in waiting])
                if len(results) != len(waiting):
                    raise RuntimeError(f"a batch of {len(waiting)} gave {len(results)} results")
            except BaseException as exc:  # noqa: BLE001 - hand the error to every caller
                for _, future in waiting:
                    future.set_exception(exc)
            else:
                for (_, future), result in zip(waiting, results):
                    future.set_result(result)
            finally:
                if self._after_batch is not None:
                    try:
                        self._after_batch()
                    except Exception:  # noqa: BLE001 - a dead runner would leave callers waiting forever
                        log.exception("clean-up after a batch failed")
