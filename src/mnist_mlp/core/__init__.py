"""The pure core of each pipeline stage: arrays, estimators, dicts and figures in and out."""
