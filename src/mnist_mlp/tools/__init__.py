"""Tools run beside the pipeline: report, compare, sweep, the offline plots template."""
