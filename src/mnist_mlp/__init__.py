"""scikit-learn's "Visualization of MLP weights on MNIST" as a reproducible DVC pipeline.

The package has three rooms, and beside them the modules every entry point shares:

- :mod:`mnist_mlp.core`: the pure core of each stage. Arrays, estimators and dicts in;
  arrays, estimators, dicts and figures out; no file is read or written here, and nothing
  is imported from ``io``. Each section of ``params.yaml`` is a frozen dataclass beside
  the code that uses it, built and checked by :func:`mnist_mlp.core.params.parse_section`:
  every params error is one line, ``params.yaml: <section>.<key>: <what is wrong>``.
  :mod:`mnist_mlp.core.sklearn_private` holds every private scikit-learn name used.
- :mod:`mnist_mlp.io`: everything that touches files or the network for the stages:
  downloading and verifying the data, the IDX format, reading params, arrays and CSVs
  written atomically, figures, the model file.
- :mod:`mnist_mlp.tools`: what people run beside the pipeline (report, compare, sweep,
  verify, the offline plots template), each a command line over functions tests call
  directly.
- :mod:`mnist_mlp.cli` (logging, one-line errors, signals), :mod:`mnist_mlp.errors` (the
  error types), and what the machine decides: :mod:`mnist_mlp.kernels` (the CPU kernels
  pinned for the same bits) and :mod:`mnist_mlp.memory` (what it can hold).

``stages/*.py`` are the thin entry points ``dvc.yaml`` runs: each reads its params and
paths, calls the core and writes the outputs through ``io``.
"""

__version__ = "0.1.0"
