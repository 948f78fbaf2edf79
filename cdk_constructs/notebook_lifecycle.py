"""The on-start lifecycle configuration every platform notebook runs."""

from __future__ import annotations

import re
import shlex

from aws_cdk import Fn
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from cdk_constructs._validation import require

_DOMAIN_RE = re.compile(r"^[a-z][a-z0-9-]{1,49}$")
_REPOSITORY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,99}$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
MAX_SCRIPT_CHARS = 16384  # SageMaker's limit for one lifecycle script

_TEMPLATE = r"""#!/bin/bash
# Secure ML platform: notebook on-start (runs as root at every start, 5-minute limit).
# 1. pip and conda use the private package mirror (CodeArtifact through the VPC endpoints);
# 2. the notebook stops itself after @IDLE_MINUTES@ idle minutes.
set -euo pipefail

readonly REGION=@REGION@
readonly DOMAIN=@DOMAIN@
readonly DOMAIN_OWNER=@DOMAIN_OWNER@
readonly REPOSITORY=@REPOSITORY@
readonly IDLE_MINUTES=@IDLE_MINUTES@

mkdir -p /usr/local/sbin
cat > /usr/local/sbin/platform-package-mirror <<'MIRROR'
#!/bin/bash
# Point pip (all conda environments) at the CodeArtifact repository with a fresh token.
set -euo pipefail
source /etc/platform-package-mirror.env
token="$(aws codeartifact get-authorization-token --region "$REGION" --domain "$DOMAIN" \
  --domain-owner "$DOMAIN_OWNER" --duration-seconds 43200 \
  --query authorizationToken --output text)"
endpoint="$(aws codeartifact get-repository-endpoint --region "$REGION" --domain "$DOMAIN" \
  --domain-owner "$DOMAIN_OWNER" --repository "$REPOSITORY" --format pypi \
  --query repositoryEndpoint --output text)"
index="https://aws:${token}@${endpoint#https://}simple/"
umask 077
tmp="$(mktemp /etc/pip.conf.XXXXXX)"
printf '[global]\nindex-url = %s\ntimeout = 60\n' "$index" > "$tmp"
chmod 0644 "$tmp"
mv -f "$tmp" /etc/pip.conf
# CodeArtifact has no conda format: conda never tries the internet (there is no route) and
# installs Python packages through pip, which now reads /etc/pip.conf.
cat > /home/ec2-user/.condarc <<'CONDARC'
offline: true
pip_interop_enabled: true
channels: []
CONDARC
chown ec2-user:ec2-user /home/ec2-user/.condarc
MIRROR
chmod 0755 /usr/local/sbin/platform-package-mirror
printf 'REGION=%q\nDOMAIN=%q\nDOMAIN_OWNER=%q\nREPOSITORY=%q\n' \
  "$REGION" "$DOMAIN" "$DOMAIN_OWNER" "$REPOSITORY" > /etc/platform-package-mirror.env
/usr/local/sbin/platform-package-mirror

cat > /usr/local/sbin/platform-idle-stop <<'IDLE'
#!/usr/bin/env python3
# Stop this notebook instance when Jupyter has been idle for more than N minutes.
import datetime
import json
import ssl
import subprocess
import sys
import urllib.request

idle_minutes = int(sys.argv[1])
context = ssl._create_unverified_context()  # Jupyter's own self-signed certificate on localhost
now = datetime.datetime.now(datetime.timezone.utc)


def last_activity(path):
    with urllib.request.urlopen(f"https://localhost:8443/api/{path}", context=context) as r:
        items = json.load(r)
    times = [datetime.datetime.fromisoformat(i["last_activity"].replace("Z", "+00:00"))
             for i in (k.get("kernel", k) for k in items) if i.get("last_activity")]
    busy = any(i.get("execution_state") == "busy" for i in (k.get("kernel", k) for k in items))
    return times, busy


try:
    times, busy = last_activity("kernels")
except OSError:
    sys.exit(0)  # Jupyter not up yet: never stop a starting notebook
if busy:
    sys.exit(0)
with open("/opt/ml/metadata/resource-metadata.json") as f:
    name = json.load(f)["ResourceName"]
with open("/var/log/platform-idle-stop.start") as f:
    started = datetime.datetime.fromisoformat(f.read().strip())
latest = max(times + [started])
if (now - latest).total_seconds() > idle_minutes * 60:
    subprocess.run(["aws", "sagemaker", "stop-notebook-instance",
                    "--notebook-instance-name", name], check=True)
IDLE
chmod 0755 /usr/local/sbin/platform-idle-stop
date -u +%Y-%m-%dT%H:%M:%S+00:00 > /var/log/platform-idle-stop.start

cat > /etc/cron.d/platform-notebook <<CRON
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
*/5 * * * * root /usr/local/sbin/platform-idle-stop ${IDLE_MINUTES} >> /var/log/platform-idle-stop.log 2>&1
0 */6 * * * root /usr/local/sbin/platform-package-mirror >> /var/log/platform-package-mirror.log 2>&1
CRON
chmod 0644 /etc/cron.d/platform-notebook
"""


def render_on_start(*, region: str, domain: str, domain_owner: str, repository: str,
                    idle_minutes: int) -> str:
    """The on-start script with concrete values (no CloudFormation tokens, so it can be
    reviewed and tested as text)."""
    require(bool(_REGION_RE.match(region)), "NotebookLifecycle", f"region {region!r} is invalid")
    require(bool(_DOMAIN_RE.match(domain)), "NotebookLifecycle",
            f"CodeArtifact domain {domain!r} must be 2-50 lower-case letters, digits, hyphens")
    require(bool(_ACCOUNT_RE.match(domain_owner)), "NotebookLifecycle",
            f"domain_owner {domain_owner!r} must be a 12-digit account id")
    require(bool(_REPOSITORY_RE.match(repository)), "NotebookLifecycle",
            f"repository {repository!r} is not a CodeArtifact repository name")
    require(5 <= idle_minutes <= 1440, "NotebookLifecycle",
            f"idle_minutes {idle_minutes} must be 5..1440")
    values = {"REGION": region, "DOMAIN": domain, "DOMAIN_OWNER": domain_owner,
              "REPOSITORY": repository, "IDLE_MINUTES": str(idle_minutes)}
    script = _TEMPLATE
    for key, value in values.items():
        script = script.replace(f"@{key}@", shlex.quote(value))
    require(len(script) <= MAX_SCRIPT_CHARS, "NotebookLifecycle", "on-start script too long")
    return script


class NotebookLifecycle(Construct):
    """One lifecycle configuration shared by every notebook of an environment: pip and conda
    point at the private package mirror, and an idle notebook stops itself. The name is
    fixed, so per-user stacks refer to it by name (no cross-stack export per user)."""

    def __init__(self, scope: Construct, id: str, *, name: str, region: str, domain: str,
                 domain_owner: str, repository: str, idle_minutes: int) -> None:
        super().__init__(scope, id)
        require(bool(re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)),
                "NotebookLifecycle", f"name {name!r} must be 1-63 letters, digits and hyphens")
        self.name = name
        self.on_start_script = render_on_start(
            region=region, domain=domain, domain_owner=domain_owner,
            repository=repository, idle_minutes=idle_minutes)
        self.resource = sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "Resource",
            notebook_instance_lifecycle_config_name=name,
            on_start=[sagemaker.CfnNotebookInstanceLifecycleConfig
                      .NotebookInstanceLifecycleHookProperty(
                          content=Fn.base64(self.on_start_script))],
        )
