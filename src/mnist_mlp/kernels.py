"""The same bits on every x86-64 machine: which CPU code computes the model's floats.

Three machine-dependent choices decide the last bits of a fit, while every printed number
stays the same (all measured on full MNIST, by the model's md5):

- OpenBLAS's kernel. OpenBLAS picks its matrix-product kernels from the CPU: ``SkylakeX``
  with AVX-512, ``Haswell`` with AVX2 (``Zen`` gives the same bits), ``Sandybridge`` with
  AVX; each rounds differently. numpy and scipy each load their own OpenBLAS and both read
  ``OPENBLAS_CORETYPE``.
- numpy's run-time SIMD dispatch. Its ufuncs (the ``exp`` and ``log`` of the softmax and
  the loss) run the widest code the CPU has; the AVX-512 paths give other bits than the
  AVX2 ones (``X86_V3``). ``NPY_ENABLE_CPU_FEATURES`` holds the dispatch to a level.
- BLAS threads: single- and multi-threaded products round differently, so every
  computation with the model runs on one thread (:func:`pinned_blas_threads`). Two threads
  on one core made the fit many times slower, so one is the only count every machine runs
  well; a lone fit on two cores pays a little for it.

Checked and found machine-independent: scipy (no run-time dispatch of its own beyond its
OpenBLAS), scikit-learn's compiled code (built for the baseline, no dispatch).

:func:`pin_kernels` asks for the AVX2 level (x86-64-v3), which every x86-64 CPU since
Intel's Haswell (2013) and AMD's Zen (2017) runs. Both libraries read these settings once,
when they load, so a stage calls it before anything imports numpy. A value already set in
the environment always wins; on other machines nothing is pinned and the stage says so.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_info, threadpool_limits

BLAS_THREADS = 1
BLAS_KERNEL = "Haswell"
NUMPY_DISPATCH = "X86_V3"
BLAS_VARIABLE = "OPENBLAS_CORETYPE"
NUMPY_VARIABLES = ("NPY_ENABLE_CPU_FEATURES", "NPY_DISABLE_CPU_FEATURES")
PINNED_ENVIRONMENT = {BLAS_VARIABLE: BLAS_KERNEL, NUMPY_VARIABLES[0]: NUMPY_DISPATCH}
# The x86-64-v3 flags as Linux names them in /proc/cpuinfo (abm is LZCNT).
X86_V3_FLAGS = frozenset({"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe"})
X86_64 = frozenset({"x86_64", "amd64"})


@dataclass(frozen=True)
class KernelPin:
    """What :func:`plan_pin` decided: the variables to set, and whether the bits are ours.

    ``pinned`` is true when the stage computes with exactly the kernels that wrote the
    committed ``dvc.lock``; ``reason`` says why (or why not), for the log.
    """

    pinned: bool
    reason: str
    set_variables: Mapping[str, str] = field(default_factory=dict)


def plan_pin(
    environ: Mapping[str, str], machine: str, cpu_flags: frozenset[str] | None
) -> KernelPin:
    """Decide the pin for a machine, leaving every variable the environment sets alone.

    Parameters
    ----------
    environ : the process environment.
    machine : ``platform.machine()``.
    cpu_flags : the CPU's feature flags (``/proc/cpuinfo``), or None where unknown.
    """
    if machine.lower() not in X86_64:
        return KernelPin(False, f"{machine} is not x86-64: its own kernels run")
    if cpu_flags is None:
        return KernelPin(False, f"cannot read the CPU's features on {sys.platform}")
    missing = sorted(X86_V3_FLAGS - cpu_flags)
    if missing:
        return KernelPin(
            False, f"the CPU lacks the AVX2 level (x86-64-v3): no {', '.join(missing)}"
        )
    overrides = {
        name: environ[name]
        for name in (BLAS_VARIABLE, *NUMPY_VARIABLES)
        if name in environ and environ[name] != PINNED_ENVIRONMENT.get(name)
    }
    if overrides:
        named = ", ".join(f"{name}={value}" for name, value in overrides.items())
        return KernelPin(False, f"the environment sets {named}")
    to_set = {name: value for name, value in PINNED_ENVIRONMENT.items() if name not in environ}
    return KernelPin(True, "x86-64-v3 kernels, as dvc.lock was written", to_set)


def cpu_flags() -> frozenset[str] | None:
    """This CPU's feature flags as Linux lists them, or None off Linux."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return frozenset(line.partition(":")[2].split())
    return None


def pin_kernels(environ: MutableMapping[str, str] = os.environ) -> KernelPin:
    """Pin this process's CPU kernels for numpy and OpenBLAS, which must not be loaded yet."""
    if "numpy" in sys.modules:
        return KernelPin(False, "numpy was loaded before the kernels could be pinned")
    pin = plan_pin(environ, platform.machine(), cpu_flags())
    environ.update(pin.set_variables)
    return pin


def running_kernels() -> str:
    """The OpenBLAS kernels and the numpy dispatch level this process runs, in words."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    blas = {lib.get("architecture") for lib in threadpool_info() if lib["user_api"] == "blas"}
    dispatch = [target for target in __cpu_dispatch__ if __cpu_features__.get(target)]
    return (
        f"OpenBLAS {'/'.join(sorted(map(str, blas))) or 'not loaded'}, "
        f"numpy dispatch up to {dispatch[-1] if dispatch else 'its baseline'}"
    )


def describe(pin: KernelPin) -> str:
    """One log line: the kernels running, and whether the bits will match ``dvc.lock``."""
    if pin.pinned:
        return f"CPU kernels: {running_kernels()} (pinned: {pin.reason})"
    return (
        f"CPU kernels: {running_kernels()}, not pinned ({pin.reason}): output bytes may "
        "differ from dvc.lock in the last bits; the printed numbers should not"
    )


def pinned_blas_threads() -> threadpool_limits:
    """A context manager running BLAS with :data:`BLAS_THREADS` threads inside it."""
    return threadpool_limits(limits=BLAS_THREADS, user_api="blas")
