"""The on-start lifecycle configuration every platform notebook runs."""

from __future__ import annotations

import base64
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
MAX_SCRIPT_CHARS = 16384  # SageMaker's limit for one lifecycle script, base64-encoded

_TEMPLATE = (
    r"""#!/bin/bash
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
cli=(aws --region "$REGION" --cli-connect-timeout 10 --cli-read-timeout 30)
token="$("${cli[@]}" codeartifact get-authorization-token --domain "$DOMAIN" \
  --domain-owner "$DOMAIN_OWNER" --duration-seconds 43200 \
  --query authorizationToken --output text)"
endpoint="$("${cli[@]}" codeartifact get-repository-endpoint --domain "$DOMAIN" \
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
# Bounded and non-fatal: a slow or unavailable mirror must not stop the notebook from starting
# (the script has 5 minutes); pip then has no index (no internet route) until the hourly retry.
timeout 120 /usr/local/sbin/platform-package-mirror \
  || echo "package mirror not configured at start; the hourly cron job retries" >&2

cat > /usr/local/sbin/platform-idle-stop <<'IDLE'
#!/usr/bin/env python3
# Stop this notebook instance when Jupyter (kernels and terminals) has been idle for more
# than N minutes. Usage: platform-idle-stop MINUTES REGION
import datetime
import json
import ssl
import subprocess
import sys
import urllib.request

JUPYTER = "https://localhost:8443/api"


def _time(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def should_stop(kernels, terminals, started, now, idle_minutes):
    # kernels/terminals as Jupyter's /api/kernels and /api/terminals return them (sessions
    # nest the kernel); a busy kernel never stops the notebook.
    kernels = [k.get("kernel", k) for k in kernels]
    if any(k.get("execution_state") == "busy" for k in kernels):
        return False
    times = [_time(i["last_activity"]) for i in kernels + list(terminals)
             if i.get("last_activity")]
    latest = max(times + [started])
    return (now - latest).total_seconds() > idle_minutes * 60


def _get(path, context):
    with urllib.request.urlopen(f"{JUPYTER}/{path}", context=context, timeout=10) as r:
        return json.load(r)


def main(argv):
    idle_minutes, region = int(argv[1]), argv[2]
    context = ssl._create_unverified_context()  # Jupyter's self-signed certificate, localhost
    try:
        kernels, terminals = _get("kernels", context), _get("terminals", context)
    except OSError:
        return 0  # Jupyter not up yet: never stop a starting notebook
    with open("/opt/ml/metadata/resource-metadata.json") as f:
        name = json.load(f)["ResourceName"]
    with open("/var/log/platform-idle-stop.start") as f:
        started = _time(f.read().strip())
    now = datetime.datetime.now(datetime.timezone.utc)
    if should_stop(kernels, terminals, started, now, idle_minutes):
        subprocess.run(["aws", "sagemaker", "stop-notebook-instance", "--region", region,
                        "--notebook-instance-name", name], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
IDLE
chmod 0755 /usr/local/sbin/platform-idle-stop
date -u +%Y-%m-%dT%H:%M:%S+00:00 > /var/log/platform-idle-stop.start

cat > /etc/cron.d/platform-notebook <<CRON
SHELL=/bin/bash
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
"""
    "*/5 * * * * root /usr/local/sbin/platform-idle-stop ${IDLE_MINUTES} ${REGION} "
    ">> /var/log/platform-idle-stop.log 2>&1\n"
    "0 * * * * root /usr/local/sbin/platform-package-mirror "
    ">> /var/log/platform-package-mirror.log 2>&1\n"
    r"""CRON
chmod 0644 /etc/cron.d/platform-notebook
"""
)


def render_on_start(
    *, region: str, domain: str, domain_owner: str, repository: str, idle_minutes: int
) -> str:
    """The on-start script with concrete values (no CloudFormation tokens, so it can be
    reviewed and tested as text)."""
    require(bool(_REGION_RE.match(region)), "NotebookLifecycle", f"region {region!r} is invalid")
    require(
        bool(_DOMAIN_RE.match(domain)),
        "NotebookLifecycle",
        f"CodeArtifact domain {domain!r} must be 2-50 lower-case letters, digits, hyphens",
    )
    require(
        bool(_ACCOUNT_RE.match(domain_owner)),
        "NotebookLifecycle",
        f"domain_owner {domain_owner!r} must be a 12-digit account id",
    )
    require(
        bool(_REPOSITORY_RE.match(repository)),
        "NotebookLifecycle",
        f"repository {repository!r} is not a CodeArtifact repository name",
    )
    require(
        5 <= idle_minutes <= 1440,
        "NotebookLifecycle",
        f"idle_minutes {idle_minutes} must be 5..1440",
    )
    values = {
        "REGION": region,
        "DOMAIN": domain,
        "DOMAIN_OWNER": domain_owner,
        "REPOSITORY": repository,
        "IDLE_MINUTES": str(idle_minutes),
    }
    script = _TEMPLATE
    for key, value in values.items():
        script = script.replace(f"@{key}@", shlex.quote(value))
    encoded = len(base64.b64encode(script.encode()))
    require(
        encoded <= MAX_SCRIPT_CHARS,
        "NotebookLifecycle",
        f"the on-start script is {encoded} characters base64-encoded; SageMaker accepts "
        f"{MAX_SCRIPT_CHARS}",
    )
    return script


class NotebookLifecycle(Construct):
    """One lifecycle configuration shared by every notebook of an environment: pip and conda
    point at the private package mirror, and an idle notebook stops itself. The name is
    fixed, so per-user stacks refer to it by name (no cross-stack export per user)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        name: str,
        region: str,
        domain: str,
        domain_owner: str,
        repository: str,
        idle_minutes: int,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)),
            "NotebookLifecycle",
            f"name {name!r} must be 1-63 letters, digits and hyphens",
        )
        self.name = name
        self.on_start_script = render_on_start(
            region=region,
            domain=domain,
            domain_owner=domain_owner,
            repository=repository,
            idle_minutes=idle_minutes,
        )
        self.resource = sagemaker.CfnNotebookInstanceLifecycleConfig(
            self,
            "Resource",
            notebook_instance_lifecycle_config_name=name,
            on_start=[
                sagemaker.CfnNotebookInstanceLifecycleConfig.NotebookInstanceLifecycleHookProperty(
                    content=Fn.base64(self.on_start_script)
                )
            ],
        )
