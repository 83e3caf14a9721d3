"""torch.futures.Future: a value that becomes available later (DDP communication hooks)."""
from __future__ import annotations

from typing import Any, Callable


class Future:
    def __init__(self, *, devices=None):
        self._done = False
        self._value = None
        self._error = None
        self._waiter: Callable[[], Any] | None = None  # completes a pending collective
        self._callbacks: list = []

    @classmethod
    def _from_work(cls, work) -> "Future":
        fut = cls()

        def finish():
            work.wait()
            return work.result()
        fut._waiter = finish
        return fut

    def done(self) -> bool:
        return self._done

    def wait(self) -> Any:
        if not self._done:
            waiter, self._waiter = self._waiter, None
            if waiter is None:
                raise RuntimeError("Future.wait() on a future that nothing will complete")
            try:
                self.set_result(waiter())
            except Exception as e:  # noqa: BLE001 - stored and re-raised, as torch does
                self.set_exception(e)
        if self._error is not None:
            raise self._error
        return self._value

    def value(self) -> Any:
        if not self._done:
            raise RuntimeError("Future.value() called before the future completed; call wait()")
        if self._error is not None:
            raise self._error
        return self._value

    def set_result(self, result: Any) -> None:
        if self._done:
            raise RuntimeError("Future can only be marked completed once")
        self._value = result
        self._done = True
        self._run_callbacks()

    def set_exception(self, result: BaseException) -> None:
        self._error = result
        self._done = True
        self._run_callbacks()

    def _run_callbacks(self) -> None:
        callbacks, self._callbacks = self._callbacks, []
        for cb in callbacks:
            cb(self)

    def add_done_callback(self, callback: Callable[["Future"], None]) -> None:
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def then(self, callback: Callable[["Future"], Any]) -> "Future":
        """A future of `callback(self)`, computed when this one completes (or is waited on)."""
        child = Future()

        def run():
            self.wait()
            return callback(self)
        child._waiter = run
        return child


def collect_all(futures: list) -> Future:
    out = Future()

    def all_done():
        for f in futures:
            f.wait()
        return futures
    out._waiter = all_done
    return out


def wait_all(futures: list) -> list:
    return [f.wait() for f in futures]
