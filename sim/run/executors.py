"""Executors: where a sweep's tasks run.

The idea: an executor only maps a picklable top-level function over plain-data
tasks and hands back each result as it arrives; it knows nothing of sweeps.  Since
every task writes its own outputs and the summary is rebuilt from them, the order
in which results arrive does not matter.

* ``local``: a :class:`concurrent.futures.ProcessPoolExecutor` (``spawn``ed
  workers, so no state of the parent leaks into them), every core by default;
* ``dask``: a :class:`dask.distributed.Client`, either connected to a running
  scheduler (``scheduler="tcp://HOST:PORT"``: a cluster started separately, e.g.
  by dask-jobqueue or dask-kubernetes; its TLS, if any, comes from the dask
  configuration) or to a :class:`~dask.distributed.LocalCluster` of ``workers``
  single-threaded processes started for the sweep, reachable only with the temporary
  TLS credentials it makes (see SECURITY.md).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from sim.scenario.errors import UsageError

__all__ = ["EXECUTORS", "execute", "default_workers", "scheduler_address"]

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "dask")


def default_workers() -> int:
    """Every core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def execute(
    function: Callable[[T], R],
    tasks: Sequence[T],
    on_result: Callable[[R], None],
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
) -> None:
    """Run ``function(task)`` for every task, calling ``on_result`` in the caller as each finishes.

    Parameters
    ----------
    function
        A module-level function (it is pickled by reference).
    tasks
        Plain-data arguments.
    on_result
        Called in this process with each result, in order of completion.
    executor
        ``local`` or ``dask``.
    workers
        Worker processes (default: every core).
    scheduler
        ``dask`` only: address of a running scheduler.
    """
    if executor not in EXECUTORS:
        raise UsageError(f"executor: expected one of {', '.join(EXECUTORS)}, found {executor!r}")
    if workers is not None and workers < 1:
        raise UsageError(f"workers: expected at least 1, found {workers}")
    if scheduler is not None and executor != "dask":
        raise UsageError("scheduler: expected only with --executor dask, found it with --executor local")
    if scheduler is not None:
        # Checked before any work (and even with no tasks), so a typo is one line now,
        # not dask's "missing port number" traceback after the sweep has started.
        scheduler_address(scheduler)
    if not tasks:
        return
    workers = workers or default_workers()
    if executor == "local":
        _local(function, tasks, on_result, workers)
    else:
        _dask(function, tasks, on_result, workers, scheduler)


#: dask's protocols that reach a scheduler at ``HOST:PORT`` (``tls`` with the dask configuration's certificates).
NETWORK_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")


def scheduler_address(text: str) -> str:
    """``text`` as a dask scheduler address, ``PROTOCOL://HOST:PORT``.

    ``HOST:PORT`` means ``tcp://HOST:PORT``; an IPv6 host is written in brackets
    (``tcp://[::1]:8786``).  dask's ``inproc://`` addresses (a cluster inside this
    very process, as tests make) are taken as they are.

    Raises
    ------
    UsageError
        If ``text`` is not ``HOST:PORT`` or ``PROTOCOL://HOST:PORT`` with a port from
        1 to 65535: dask would otherwise fail with a traceback ("missing port number").
    """
    expected = f"scheduler: expected HOST:PORT or tcp://HOST:PORT, found {text!r}"
    protocol, separator, location = text.strip().partition("://")
    if not separator:
        protocol, location = "tcp", text.strip()
    if protocol == "inproc" and location:
        return text.strip()
    if protocol not in NETWORK_PROTOCOLS:
        raise UsageError(expected)
    host, colon, port = location.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        inner = host[1:-1]
        valid_host = bool(inner) and all(ch in "0123456789abcdefABCDEF:." for ch in inner)
    else:
        valid_host = bool(host) and not any(ch in host for ch in ":/[]@ ")
    if not colon or not valid_host or not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise UsageError(expected)
    return f"{protocol}://{host}:{int(port)}"


def _local(function: Callable[[T], R], tasks: Sequence[T], on_result: Callable[[R], None], workers: int) -> None:
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")
    workers = min(workers, len(tasks))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    finished_cleanly = False
    with _terminated_as_exit():
        try:
            # Keep a bounded number of tasks in flight: thousands of cheap tasks need
            # not all be pickled up front, and an interrupt stops soon.
            pending: set[Any] = set()
            queue = iter(tasks)
            limit = 4 * workers
            while True:
                for task in queue:
                    pending.add(pool.submit(function, task))
                    if len(pending) >= limit:
                        break
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    on_result(future.result())
            finished_cleanly = True
        finally:
            if finished_cleanly:
                pool.shutdown(wait=True)
            else:
                # Interrupted (Ctrl-C, SIGTERM) or failed: stop the workers now rather than
                # let them finish runs nobody will read, and leave no orphan behind.
                pool.shutdown(wait=False, cancel_futures=True)
                for child in multiprocessing.active_children():
                    child.terminate()
                for child in multiprocessing.active_children():
                    child.join(timeout=10)


@contextlib.contextmanager
def _terminated_as_exit() -> Iterator[None]:
    """Within the block, SIGTERM raises ``SystemExit(143)`` (as Ctrl-C raises KeyboardInterrupt).

    Only the main thread may set a handler; elsewhere the block runs as it is.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _dask(
    function: Callable[[T], R], tasks: Sequence[T], on_result: Callable[[R], None], workers: int, scheduler: str | None
) -> None:
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as error:  # pragma: no cover - dask is a dependency
        raise UsageError(f"executor dask: expected dask[distributed] installed, found {error}") from None

    cluster = None
    try:
        if scheduler is not None:
            try:
                client = Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as error:
                raise UsageError(f"scheduler: expected a reachable dask scheduler, found {scheduler!r} ({error})") from None
        else:
            # security=True: temporary TLS credentials that only this process and its workers
            # hold.  The scheduler listens on a local port, and dask's messages are pickles:
            # on a shared machine any other user could otherwise connect and run code as us.
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40,
                security=True,
            )
            client = Client(cluster)
        with client:
            futures = client.map(function, list(tasks), pure=False)
            for future in as_completed(futures):
                on_result(future.result())
                future.release()
    finally:
        if cluster is not None:
            cluster.close()
