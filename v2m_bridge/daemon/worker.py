"""The model worker: one thread that runs model work (analysis, generation, live composition)
in the order it was queued, so the OSC thread only parses, checks and queues."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Job = Callable[[], None]


class ModelWorker:
    """Runs queued jobs one at a time on its own thread. A job that raises is logged and the
    worker goes on; jobs report their results themselves."""

    def __init__(self, name: str = "v2m-model") -> None:
        self._jobs: queue.Queue[Job | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Job) -> None:
        with self._idle:
            self._pending += 1
        self._jobs.put(job)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every queued job has run (tests, shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        """Stop after the jobs already queued."""
        self._jobs.put(None)
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                job()
            except Exception:  # a bug in one job must not stop the worker
                log.exception("model job failed")
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
