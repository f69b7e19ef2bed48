"""A grid of experiments, run as shards on any number of machines (docs/sweeps.md)."""
