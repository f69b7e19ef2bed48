"""The example as one plain script: the reference the pipeline is measured against.

``python benchmarks/reference.py DATA_DIR OUT_DIR [--max-iter N] [--learning-rates R ...]``
loads the four local MNIST IDX files (training and test sets), divides by 255., then for
each learning rate fits, scores both sets and saves the 4x4 grid as
``OUT_DIR/weights-<rate>.png``: several rates are the loop a user would write instead of a
sweep.
"""

import argparse
import gzip
import logging
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("data_dir")
parser.add_argument("out_dir")
parser.add_argument("--max-iter", type=int, default=10)
parser.add_argument("--learning-rates", type=float, nargs="+", default=[0.1])
args = parser.parse_args()
logging.basicConfig(level=logging.INFO, format="%(message)s")


def read(name, offset):
    with gzip.open(f"{args.data_dir}/{name}") as stream:
        return np.frombuffer(stream.read(), np.uint8, offset=offset)


X_train = read("train-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
X_test = read("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784) / 255.0
y_train, y_test = read("train-labels-idx1-ubyte.gz", 8), read("t10k-labels-idx1-ubyte.gz", 8)

for rate in args.learning_rates:
    mlp = MLPClassifier(
        hidden_layer_sizes=(50,),
        max_iter=args.max_iter,
        alpha=1e-4,
        solver="sgd",
        tol=1e-4,
        random_state=1,
        learning_rate_init=rate,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlp.fit(X_train, y_train)
    logging.info("learning_rate_init=%g", rate)
    logging.info("Training set score: %f", mlp.score(X_train, y_train))
    logging.info("Test set score: %f", mlp.score(X_test, y_test))

    fig, axes = plt.subplots(4, 4)
    vmin, vmax = mlp.coefs_[0].min(), mlp.coefs_[0].max()
    for coef, ax in zip(mlp.coefs_[0].T, axes.ravel(), strict=False):
        ax.matshow(coef.reshape(28, 28), cmap=plt.cm.gray, vmin=0.5 * vmin, vmax=0.5 * vmax)
        ax.set_xticks(())
        ax.set_yticks(())
    fig.savefig(f"{args.out_dir}/weights-{rate}.png")
    plt.close(fig)
