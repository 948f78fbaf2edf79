"""The cdk-nag packs' names, without importing cdk-nag (which starts jsii): the review pack
and the acknowledgement lists read them without the CDK."""

from __future__ import annotations

# Rule-id prefix of each pack -> the plugin name CDK reports it under. An acknowledgement id
# is "<plugin>::<rule id>[<finding>]".
NAG_PACKS: dict[str, str] = {
    "AwsSolutions": "AwsSolutions",
    "NIST.800.53.R5": "NIST.800.53.R5",
    "HIPAA.Security": "HIPAA.Security",
    "PCI.DSS.321": "PCI.DSS.321",
}
