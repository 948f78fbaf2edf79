"""Credit-card default reference model: preprocess, train, evaluate, explain, bias."""

__all__ = ["synthetic", "preprocess", "train", "evaluate", "explain", "bias", "pipeline_local"]
