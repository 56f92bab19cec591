"""Sampler worker processes that end with the process that started them.

PyMC's NUTS runs each chain in a process started through a multiprocessing context (forkserver
on Linux). When the process that asked for the fit is killed outright (``kill -9``, the OOM
killer), those workers are not told: they stay blocked on their pipes, holding memory, for
ever. :func:`worker_context` gives PyMC a context whose processes watch their parent and exit
as soon as it is gone.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import threading
import time

#: Seconds between two looks of a worker at its parent.
WATCH_INTERVAL_S = 0.5


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_INTERVAL_S)
    os._exit(1)  # the parent is gone: nobody will read this chain


class WatchedProcess(multiprocessing.context.ForkServerProcess):
    """A forkserver process that exits when its parent (the fork server) ends."""

    def run(self) -> None:
        """Start the watch, then run the target."""
        threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
        super().run()


class WatchedContext(multiprocessing.context.ForkServerContext):
    """The forkserver context, with :class:`WatchedProcess` processes.

    The fork server itself exits when the process that started it ends, so a worker's parent
    disappears exactly when the fit's process does.
    """

    Process = WatchedProcess  # type: ignore[assignment]


def worker_context() -> multiprocessing.context.BaseContext:
    """Return the multiprocessing context for PyMC's chain processes (watched forkserver where it exists)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context()
    return WatchedContext()
