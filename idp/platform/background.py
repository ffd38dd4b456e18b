"""One background thread per process that delivers what commits submitted and sweeps for what is due:
the base of the mail Dispatcher (idp.platform.mail) and the SCIM push Pusher (idp.provisioning.worker).

`put(item)` hands `item` to the thread, which calls `deliver(item)` in an app context; every
`sweep_seconds` (0: never) it calls `deliver(None)`: everything that is due. The thread starts with the
first `put` or `ensure_worker()` of each process (again after a fork), and `flush` waits for what was put
(tests, and at exit for 10 s).
"""
import atexit
import os
import queue
import threading
import time

_STOP = object()


class BackgroundWorker:
    thread_name = "idp-background"

    def __init__(self, app, sweep_seconds):
        self.app = app
        self.sweep_seconds = sweep_seconds
        self._queue = queue.Queue()
        self._lock = threading.Lock()
        self._worker_pid = None

    def deliver(self, item=None):
        """Deliver `item` (None: everything due). Runs in an app context; must not raise."""
        raise NotImplementedError

    def put(self, item):
        self.ensure_worker()
        self._queue.put(item)

    def flush(self, timeout=30):
        """Wait until every item put was delivered (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def ensure_worker(self):
        """Start this process's thread unless it runs (also after a fork: gunicorn --preload)."""
        if self._worker_pid == os.getpid():
            return
        with self._lock:
            if self._worker_pid != os.getpid():
                if self._worker_pid is not None:  # forked: the parent's queue (and its locks) stay the parent's
                    self._queue = queue.Queue()
                self._worker_pid = os.getpid()
                threading.Thread(target=self._run, name=self.thread_name, daemon=True).start()
                atexit.register(self.flush, 10)

    def stop(self):
        """End the thread after what was put (tests)."""
        if self._worker_pid == os.getpid():
            self._queue.put(_STOP)
            self.flush()

    def _run(self):
        last_sweep = None
        while True:
            wait = None
            if self.sweep_seconds:
                wait = 0 if last_sweep is None else max(0.0, last_sweep + self.sweep_seconds - time.monotonic())
            try:
                item = self._queue.get(timeout=wait)
            except queue.Empty:
                last_sweep = time.monotonic()
                with self.app.app_context():
                    self.deliver()
                continue
            try:
                if item is _STOP:
                    self._worker_pid = None
                    return
                with self.app.app_context():
                    self.deliver(item)
            finally:
                self._queue.task_done()
