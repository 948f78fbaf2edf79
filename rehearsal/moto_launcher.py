"""Run moto's server with the few repairs the rehearsal needs, and nothing else.

Each shim fixes how moto *translates a CloudFormation resource* into its own API call; none
of them makes a resource look created when it was not. They are listed in
docs/deploy-rehearsal.md ("moto gaps") and exercised by tests/test_deploy_rehearsal.py.

Usage: python -m rehearsal.moto_launcher HOST PORT
"""

from __future__ import annotations

import sys
from typing import Any


def _kms_key_from_cloudformation() -> None:
    """moto 5.2.5, AWS::KMS::Key, two translation bugs:

    - it passes CloudFormation tags ({Key, Value}) to the KMS tagger, which expects the KMS
      API's shape ({TagKey, TagValue}); every tagged key fails with KeyError 'TagKey' and
      ExecuteChangeSet answers HTTP 500 (the CDK CLI still prints success);
    - it stores KeyPolicy as the template's JSON object where the KMS API keeps a string;
      DescribeKey then fails (json.loads of a dict) with HTTP 500.
    """
    import json

    from moto.kms.models import Key

    original = Key.create_from_cloudformation_json.__func__

    def create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
               region_name: str, **kwargs: Any) -> Any:
        properties = cloudformation_json.get("Properties", {})
        tags = properties.get("Tags") or []
        if tags and "Key" in tags[0]:
            properties = {**properties, "Tags": [
                {"TagKey": t["Key"], "TagValue": t["Value"]} for t in tags]}
        if isinstance(properties.get("KeyPolicy"), dict):
            properties = {**properties, "KeyPolicy": json.dumps(properties["KeyPolicy"])}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
        return original(cls, resource_name, cloudformation_json, account_id, region_name,
                        **kwargs)

    Key.create_from_cloudformation_json = classmethod(create)


SHIMS = (_kms_key_from_cloudformation,)


def apply_shims() -> None:
    for shim in SHIMS:
        shim()


def main(argv: list[str]) -> None:
    host, port = argv
    apply_shims()
    from moto.server import main as moto_main

    moto_main(["--host", host, "--port", port])


if __name__ == "__main__":
    main(sys.argv[1:])
