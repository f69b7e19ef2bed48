"""Entry points: a stop signal ends them with one line, a failure code and no output."""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

import pytest

from mnist_mlp.cli import run_stage
from mnist_mlp.io.files import atomic_path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_stop_signal_mid_write_fails_in_one_line_and_writes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, signum: signal.Signals
) -> None:
    output = tmp_path / "out.bin"
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}

    def main(argv: object) -> None:
        with atomic_path(output) as tmp:
            tmp.write_bytes(b"half")
            os.kill(os.getpid(), signum)
            tmp.write_bytes(b"half and the rest")

    with pytest.raises(SystemExit) as stopped:
        run_stage(main)
    assert stopped.value.code == 128 + signum
    assert list(tmp_path.iterdir()) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [f"stopped by {signum.name} before finishing; run it again"]
    # The caller's handlers (here pytest's) are back in place.
    assert {s: signal.getsignal(s) for s in handlers} == handlers
