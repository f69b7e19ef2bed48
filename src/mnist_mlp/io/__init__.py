"""What touches files or the network for the stages: data, params, arrays, figures, model."""
