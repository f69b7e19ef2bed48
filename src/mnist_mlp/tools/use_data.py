"""Make the project run on your own four IDX files: ``python -m mnist_mlp.tools.use_data DIR``.

``DIR`` holds the files under the names ``params.yaml`` lists in ``fetch.files`` (MNIST's
four names, which ``dvc.yaml`` passes to preprocess). The command checks that they are
images and labels preprocess accepts, then writes into ``params.yaml`` what a run on them
needs: each file's SHA-256 and the split sizes of the files' own train and test parts,
changing no other line. Then ``DATA_MIRROR=DIR make repro``: the files come from there.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ruamel.yaml import YAML

from mnist_mlp.cli import argument_parser, run_stage
from mnist_mlp.errors import DataError
from mnist_mlp.io.fetch import decompressed_sha256
from mnist_mlp.io.files import write_bytes
from mnist_mlp.io.idx import read_parts
from mnist_mlp.io.params import read_yaml

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("directory", type=Path, help="directory of the four .gz IDX files")
    args = parser.parse_args(argv)
    read_yaml(args.params)  # refuses what the stages would refuse, alias bombs included
    yaml = YAML()  # round trip: comments and layout stay (params.yaml is in its layout)
    yaml.representer.add_representer(
        type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null")
    )
    params = yaml.load(Path(args.params).read_text(encoding="utf-8"))
    names = [item["name"] for item in params["fetch"]["files"]]
    if len(names) != 4:
        raise DataError(f"{args.params}: fetch.files: expected the four files preprocess reads")
    train, test = read_parts(*(args.directory / name for name in names))
    for item in params["fetch"]["files"]:
        item["sha256"] = decompressed_sha256(args.directory / item["name"])
    params["split"]["train_size"], params["split"]["test_size"] = len(train[1]), len(test[1])
    text = io.StringIO()
    yaml.dump(params, text)
    write_bytes(args.params, text.getvalue().encode())
    classes = np.unique(np.concatenate([train[1], test[1]]))
    log.info(
        "%s: %d training and %d test images of %dx%d pixels, %d classes; now run "
        "`DATA_MIRROR=%s make repro`",
        args.params, len(train[1]), len(test[1]), *train[0].shape[1:], len(classes), args.directory,
    )  # fmt: skip


if __name__ == "__main__":
    run_stage(main)
