"""One BLAS thread for every computation with the model: the same bits on every machine.

OpenBLAS's single-threaded matrix products round differently from its multi-threaded ones:
on full MNIST the fitted model's bytes differ between 1 and 2 threads (and agree for 2, 3
and 4). Left alone, OpenBLAS starts one thread per core, so a model trained in a 1-core
container, or in a queue worker limited to one thread, would differ in its last bits from
one trained on a laptop, and ``dvc.lock`` would not reproduce. One thread is the only count
every machine can run without oversubscribing: two threads on one core made the fit 14 times
slower. It costs a lone fit on two cores 8-25% (measured), and lets parallel experiments
each use a core of their own.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits

BLAS_THREADS = 1


def pinned_blas_threads() -> threadpool_limits:
    """A context manager running BLAS with :data:`BLAS_THREADS` threads inside it."""
    return threadpool_limits(limits=BLAS_THREADS, user_api="blas")
