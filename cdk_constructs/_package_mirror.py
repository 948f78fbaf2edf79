"""The private package mirror: an AWS CodeArtifact domain and PyPI repository."""

from __future__ import annotations

import re

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_codeartifact as codeartifact
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk_constructs._validation import require

_DOMAIN_RE = re.compile(r"^[a-z][a-z0-9-]{1,49}$")
PUBLIC_PYPI = "public:pypi"


class PackageMirror(Construct):
    """Whitepaper: a 'local PyPI server or pip mirror' for notebooks and builds with no
    internet access. Notebooks and CodeBuild reach it through the CodeArtifact VPC endpoints
    (``codeartifact.api`` and ``codeartifact.repositories``) and S3 gateway endpoint.

    - ``upstream="public_pypi"``: repository ``pypi`` has an upstream ``pypi-store`` with an
      external connection to pypi.org; CodeArtifact (not the VPC) fetches missing packages,
      and keeps every version it served;
    - ``upstream="none"``: repository ``pypi`` only, curated: the platform team publishes
      approved packages (air-gapped).

    The domain's assets are encrypted with a customer-managed key and both resources are
    retained. :attr:`read_policy` is the customer-managed policy any consumer (notebook
    roles, CodeBuild projects) attaches to install packages and nothing more.

    Refused: a domain name that is not 2-50 lower-case letters, digits and hyphens starting
    with a letter, and an ``upstream`` other than 'public_pypi' or 'none'.
    """

    REPOSITORY = "pypi"
    STORE = "pypi-store"

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        domain_name: str,
        encryption_key: kms.IKey,
        upstream: str,
    ) -> None:
        super().__init__(scope, id)
        require(
            bool(_DOMAIN_RE.match(domain_name)),
            "PackageMirror",
            f"domain_name {domain_name!r} must be 2-50 lower-case letters, digits and "
            "hyphens, starting with a letter",
        )
        require(
            upstream in ("public_pypi", "none"),
            "PackageMirror",
            f"upstream {upstream!r} must be 'public_pypi' or 'none'",
        )
        stack = Stack.of(self)
        self.domain_name = domain_name
        self.domain_owner = stack.account
        self.repository_name = self.REPOSITORY
        self.upstream = upstream

        self.domain = codeartifact.CfnDomain(
            self, "Domain", domain_name=domain_name, encryption_key=encryption_key.key_arn
        )
        self.domain.apply_removal_policy(RemovalPolicy.RETAIN)

        self.store: codeartifact.CfnRepository | None = None
        if upstream == "public_pypi":
            self.store = codeartifact.CfnRepository(
                self,
                "PublicPypiStore",
                domain_name=self.domain.attr_name,
                domain_owner=stack.account,
                repository_name=self.STORE,
                description="Cache of pypi.org, fetched by CodeArtifact (not by the VPC)",
                external_connections=[PUBLIC_PYPI],
            )
            self.store.apply_removal_policy(RemovalPolicy.RETAIN)
        self.repository = codeartifact.CfnRepository(
            self,
            "Repository",
            domain_name=self.domain.attr_name,
            domain_owner=stack.account,
            repository_name=self.REPOSITORY,
            description=(
                "Python packages for notebooks and builds (upstream: pypi.org cache)"
                if self.store
                else "Curated Python packages (no upstream, air-gapped)"
            ),
            upstreams=[self.store.attr_name] if self.store else None,
        )
        self.repository.apply_removal_policy(RemovalPolicy.RETAIN)

        partition = stack.partition
        self.domain_arn = (
            f"arn:{partition}:codeartifact:{stack.region}:{stack.account}:domain/{domain_name}"
        )
        self.repository_arn = (
            f"arn:{partition}:codeartifact:{stack.region}:{stack.account}:"
            f"repository/{domain_name}/{self.REPOSITORY}"
        )
        self.read_statements = [
            iam.PolicyStatement(
                sid="PackageMirrorToken",
                actions=["codeartifact:GetAuthorizationToken"],
                resources=[self.domain_arn],
            ),
            iam.PolicyStatement(
                sid="PackageMirrorRead",
                actions=["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
                resources=[self.repository_arn],
            ),
            # GetAuthorizationToken needs a bearer token from STS for the CodeArtifact
            # service only; the action has no resource type.
            iam.PolicyStatement(
                sid="PackageMirrorBearerToken",
                actions=["sts:GetServiceBearerToken"],
                resources=["*"],
                conditions={"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
            ),
        ]
        self.read_policy_name = f"{domain_name}-package-mirror-read"
        self.read_policy = iam.ManagedPolicy(
            self,
            "ReadPolicy",
            managed_policy_name=self.read_policy_name,
            description="Install packages from the platform's private package mirror",
            statements=self.read_statements,
        )
