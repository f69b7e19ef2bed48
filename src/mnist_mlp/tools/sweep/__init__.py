"""A grid of experiments, run as shards on any number of machines, then gathered.

:mod:`.grid` expands and checks the grid (pure), :mod:`.run` runs one shard here,
:mod:`.push` shares the experiments through a git remote, :mod:`.gather` tabulates them;
``python -m mnist_mlp.tools.sweep`` is the command line (docs/sweeps.md).
"""
