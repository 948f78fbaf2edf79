"""Compliance gates run on every synth: cdk-nag packs, cfn-guard, and the acknowledgements."""
