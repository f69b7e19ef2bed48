"""scikit-learn's "Visualization of MLP weights on MNIST" as a reproducible DVC pipeline.

Each module holds the pure core of one pipeline stage; ``stages/*.py`` are the thin
entry points that read params and paths, call these functions and write the outputs.
"""

__version__ = "0.1.0"
