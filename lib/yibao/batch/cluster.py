"""``yibao run … --scheduler ADDRESS``: the batch's jobs on a Dask distributed cluster (docs/scale.md).

The client (``yibao run``) plans the jobs, computes every job's resume key and skips the unchanged ones
exactly as locally (:mod:`yibao.batch.runner`); each remaining job becomes one Dask task that runs
:func:`yibao.batch.runner.run_job_on_worker` on a worker: the same code path as a local pool process, writing
into the same ``--out`` (shared storage: every worker sees the dataset and the outputs at the same path),
publishing by ``os.replace`` and stamping ``.jobs/`` as locally. The client writes the manifest, with the
worker that built each job.

Why Dask: the jobs are Python functions running notebooks; Dask's scheduler and workers are plain Python
processes (``dask scheduler``, ``dask worker``), need no JVM or container runtime, and reschedule the tasks
of a worker that is lost (its process killed, its machine gone) onto the workers that remain — up to
``distributed.scheduler.allowed-failures`` times (default 3) before the job is reported failed.

A worker runs jobs in its own process, one at a time per thread: start workers with ``--nthreads 1``
(a job already uses both DuckDB threads and a kernel process).

This module knows Dask, not jobs: the runner hands it calls and gets results back.
"""
from __future__ import annotations

from typing import Callable

from yibao.errors import YibaoError


def connect(address: str, timeout: float = 20.0):
    """A Dask client of the scheduler at ``address`` (``tcp://host:port``), or one clear error."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - requirements.txt installs it
        raise YibaoError("--scheduler: 需要 dask distributed（pip install 'dask[distributed]'）") from None
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise YibaoError(f"--scheduler {address}: 无法连接 Dask 调度器 — {str(exc).splitlines()[0] if str(exc) else type(exc).__name__} "
                         f"(rule: a running `dask scheduler` at tcp://HOST:PORT)") from None


def run_tasks(address: str, calls: list[tuple[str, Callable, tuple]], on_done: Callable) -> None:
    """Submit ``calls`` ([(key, fn, args), …]) to the cluster and call ``on_done(i, result, error)`` as each
    finishes (``error``: the exception of a call that could not complete anywhere — ``KilledWorker`` when its
    workers were lost too often). Ctrl-C / SIGTERM cancels what has not finished and re-raises."""
    from distributed import as_completed
    client = connect(address)
    try:
        futs = {client.submit(fn, *args, key=key, pure=False): i for i, (key, fn, args) in enumerate(calls)}
        try:
            for fut in as_completed(list(futs), loop=client.loop):
                try:
                    result, error = fut.result(), None
                except Exception as exc:  # noqa: BLE001 - reported by the caller, the others go on
                    result, error = None, exc
                on_done(futs[fut], result, error)
        except KeyboardInterrupt:
            client.cancel(list(futs))
            raise
    finally:
        client.close()


def workers(address: str) -> dict:
    """The scheduler's workers: address -> name (for messages and the benchmark)."""
    client = connect(address)
    try:
        return {a: str(w.get("name")) for a, w in client.scheduler_info()["workers"].items()}
    finally:
        client.close()


def here() -> str | None:
    """The address of the Dask worker this code runs on, or None outside a worker."""
    import sys
    if "distributed" not in sys.modules:
        return None
    try:
        from distributed import get_worker
        w = get_worker()
    except (ValueError, ImportError):
        return None
    return f"{w.address} ({w.name})" if str(w.name) != str(w.address) else str(w.address)


