"""fetch: download the four MNIST IDX files into the output directory, verified by SHA-256."""

from __future__ import annotations

import os
from collections.abc import Sequence

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.io.fetch import MIRROR_ENV, FetchParams, fetch_file, sources
from mnist_mlp.io.files import atomic_directory
from mnist_mlp.io.guard import snapshot, unchanged
from mnist_mlp.io.params import load_section


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--out", required=True, help="directory for the verified .gz files")
    args = parser.parse_args(argv)

    read = snapshot(args.params, ["fetch"], [])
    params = load_section(args.params, "fetch", FetchParams)
    source_list = sources(params.mirrors, os.environ.get(MIRROR_ENV))
    # Checked again last thing before the directory is put in place.
    with atomic_directory(args.out) as tmp, unchanged(read):
        for item in params.files:
            fetch_file(
                item.name,
                item.sha256,
                source_list,
                tmp,
                timeout=params.timeout,
                attempt_seconds=params.attempt_seconds,
                retries=params.retries,
                retry_delay=params.retry_delay,
                max_file_bytes=params.max_file_bytes,
            )


if __name__ == "__main__":
    run_stage(main)
