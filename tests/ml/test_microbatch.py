"""Micro-batching: concurrent calls run together, each caller gets its own result."""
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from ml.microbatch import MicroBatcher


class Recorder:
    """A run function that records its batches and can be held inside a batch."""

    def __init__(self, fail_on=None, one_result_per_batch=False):
        self.batches = []
        self.threads = []
        self.inside = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail_on = fail_on
        self.one_result_per_batch = one_result_per_batch  # a broken run that loses results

    def __call__(self, items):
        self.batches.append(list(items))
        self.threads.append(threading.current_thread().name)
        self.inside.set()
        assert self.release.wait(10)
        if self.fail_on in items:
            raise ValueError(f"bad item {self.fail_on}")
        results = [item * 10 for item in items]
        return results[:1] if self.one_result_per_batch else results


def _submit_while_the_first_batch_is_held(batcher, run, later):
    """Submit 1, hold its batch, submit ``later`` from other threads, release; return the
    results in the order submitted (or the errors)."""
    run.release.clear()
    with ThreadPoolExecutor(len(later) + 1) as pool:
        first = pool.submit(batcher.submit, 1)
        assert run.inside.wait(5)
        rest = [pool.submit(batcher.submit, item) for item in later]
        while batcher._queue.qsize() < len(later):  # all queued behind the held batch
            threading.Event().wait(0.01)
        run.release.set()
        return [f.exception() or f.result() for f in [first, *rest]]


def test_it_runs_the_calls_that_wait_together_as_one_batch():
    run = Recorder()
    batcher = MicroBatcher(run, max_size=100, name="test")
    results = _submit_while_the_first_batch_is_held(batcher, run, [2, 3, 4, 5])
    assert results == [10, 20, 30, 40, 50]
    assert run.batches[0] == [1]
    assert sorted(run.batches[1]) == [2, 3, 4, 5]
    assert set(run.threads) == {"test-0"}


def test_a_lone_call_runs_at_once_on_its_own():
    run = Recorder()
    batcher = MicroBatcher(run, max_size=100, name="test")
    assert batcher.submit(7) == 70
    assert run.batches == [[7]]


def test_a_batch_stops_growing_at_its_size():
    run = Recorder()
    batcher = MicroBatcher(run, max_size=4, size=lambda item: 2, name="test")
    _submit_while_the_first_batch_is_held(batcher, run, [2, 3, 4, 5])
    assert [len(batch) for batch in run.batches] == [1, 2, 2]


def test_every_caller_in_a_failed_batch_gets_the_error_and_the_next_batch_runs():
    run = Recorder(fail_on=3)
    batcher = MicroBatcher(run, max_size=100, name="test")
    results = _submit_while_the_first_batch_is_held(batcher, run, [2, 3, 4])
    assert results[0] == 10
    assert all(isinstance(r, ValueError) and "bad item 3" in str(r) for r in results[1:])
    assert batcher.submit(6) == 60


def test_a_run_that_loses_results_is_an_error_not_a_wrong_answer():
    run = Recorder(one_result_per_batch=True)
    batcher = MicroBatcher(run, max_size=100, name="test")
    results = _submit_while_the_first_batch_is_held(batcher, run, [2, 3])
    assert results[0] == 10
    assert all(isinstance(r, RuntimeError) and "gave 1 results" in str(r) for r in results[1:])


def test_an_oversized_item_and_calls_after_close_run_in_the_callers_thread():
    run = Recorder()
    batcher = MicroBatcher(run, max_size=3, size=len, name="test")
    assert batcher.submit([1, 1, 1]) == [1, 1, 1] * 10
    batcher.close()
    assert batcher.submit([2]) == [2] * 10
    assert run.threads == [threading.current_thread().name] * 2


def test_after_each_batch_it_calls_the_clean_up_even_when_the_batch_failed():
    cleaned = []
    batcher = MicroBatcher(Recorder(fail_on=2), max_size=10, name="test", after_batch=lambda: cleaned.append(1))
    assert batcher.submit(1) == 10
    with pytest.raises(ValueError):
        batcher.submit(2)
    assert cleaned == [1, 1]


def test_a_failing_clean_up_does_not_stop_the_batches():
    def broken_clean_up():
        raise OSError("connection already closed")

    batcher = MicroBatcher(Recorder(), max_size=10, name="test", after_batch=broken_clean_up)
    results = queue.SimpleQueue()
    # In a daemon thread: a dead runner would leave the caller waiting forever.
    threading.Thread(target=lambda: results.put([batcher.submit(1), batcher.submit(2)]), daemon=True).start()
    assert results.get(timeout=5) == [10, 20]
