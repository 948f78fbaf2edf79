"""Stacks compose constructs and wire grants; they hold no raw CloudFormation plumbing."""
