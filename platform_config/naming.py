"""Resource names derived from configuration. Names never depend on list positions."""

from __future__ import annotations

from dataclasses import dataclass

from platform_config.model import PlatformConfig


@dataclass(frozen=True)
class ResourceNames:
    project: str
    environment: str
    account: str
    region: str

    @classmethod
    def for_environment(cls, config: PlatformConfig, environment: str) -> ResourceNames:
        env = config.environment(environment)
        return cls(config.project.name, environment, env.account, env.region)

    @property
    def prefix(self) -> str:
        """Every platform resource name starts with this, e.g. ``mlp-dev-``."""
        return f"{self.project}-{self.environment}-"

    def bucket(self, purpose: str) -> str:
        """Globally unique and predictable: project, environment, purpose, account, region."""
        return f"{self.prefix}{purpose}-{self.account}-{self.region}"

    def key_alias(self, purpose: str) -> str:
        return f"alias/{self.project}/{self.environment}/{purpose}"

    def stack(self, part: str) -> str:
        return f"{self.prefix}{part}"

    def trail(self) -> str:
        """The environment's CloudTrail trail (key policies name it before it exists)."""
        return f"{self.prefix}audit-trail"

    def topic(self, purpose: str) -> str:
        return f"{self.prefix}{purpose}"

    @property
    def codeartifact_domain(self) -> str:
        return f"{self.project}-{self.environment}"

    codeartifact_repository: str = "pypi"
