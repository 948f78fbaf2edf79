"""Security review pack: controls matrix, IAM summary, diagrams and idle-cost estimate,
computed from a synthesized cloud assembly (``python -m review cdk.out``)."""
