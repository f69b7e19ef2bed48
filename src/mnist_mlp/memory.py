"""How much memory this machine can give a stage, and refusing a plan that needs more.

``train`` and ``visualize`` estimate what their params will allocate before they load any
data, so that ``hidden_layer_sizes: [100000000]`` or ten thousand per-epoch snapshots stop
in one line naming the param, instead of a numpy traceback or the kernel's OOM killer
minutes later.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from mnist_mlp.errors import ParamsError

# Python, numpy and scikit-learn (or matplotlib) themselves, before any data.
BASE_BYTES = 300 * 2**20


def _meminfo_available(meminfo: str) -> int | None:
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_room(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """What the cgroup (v2) memory limit leaves, when there is one."""
    try:
        limit = (root / "memory.max").read_text(encoding="utf-8").strip()
        current = int((root / "memory.current").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - current, 0)


def available_memory() -> int:
    """Bytes this process could still allocate without swapping: the least of the kernel's
    ``MemAvailable`` and the cgroup's remaining limit (``os.sysconf`` where neither is known).
    """
    try:
        available = _meminfo_available(Path("/proc/meminfo").read_text(encoding="utf-8"))
    except OSError:
        available = None
    if available is None:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    room = _cgroup_room()
    return available if room is None else min(available, room)


def gib(n_bytes: float) -> str:
    """``n_bytes`` as GiB with one decimal (MiB below 1 GiB) for messages."""
    return f"{n_bytes / 2**30:.1f} GiB" if n_bytes >= 2**30 else f"{n_bytes / 2**20:.0f} MiB"


def npy_header(path: str | os.PathLike[str]) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype of a ``.npy`` file, read from its header without loading the data."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    return array.shape, array.dtype


def check_fits(parts: Mapping[str, int], available: int, params: str) -> int:
    """Raise ParamsError if ``BASE_BYTES`` plus ``parts`` exceed ``available`` bytes.

    Parameters
    ----------
    parts : {what: bytes}
        The estimate, by what needs the memory; the largest parts are named in the error.
    available : int
        Bytes the machine can give (:func:`available_memory`).
    params : str
        The params that drive the estimate, as the user wrote them (``train.max_iter = 40``).

    Returns
    -------
    The estimated total in bytes.
    """
    total = BASE_BYTES + sum(parts.values())
    if total > available:
        largest = sorted(parts.items(), key=lambda item: -item[1])[:3]
        detail = ", ".join(f"{what} {gib(size)}" for what, size in largest)
        raise ParamsError(
            f"{params} needs about {gib(total)} of memory ({detail}), more than the "
            f"{gib(available)} this machine has available"
        )
    return total
