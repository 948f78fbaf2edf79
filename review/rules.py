"""The rules the compliance gate really runs, read from the installed packages: cdk-nag's
RULES.md (for the packs compliance._checks registers) and cdk-validator-cfnguard's Control
Tower guard files. A control names rule-id patterns; the rules listed for it are whatever
the installed versions provide, so an upgrade that adds or renames a rule shows up here."""

from __future__ import annotations

import functools
import importlib.util
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

GUARD_PLUGIN = "cdk-validator-cfnguard"


@dataclass(frozen=True)
class Rule:
    pack: str  # "AwsSolutions", "NIST.800.53.R5", ... or "cdk-validator-cfnguard"
    id: str  # "AwsSolutions-VPC7", "s3_bucket_logging_enabled_check"
    description: str
    resource_types: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.id.split("-", 1)[1] if self.pack != GUARD_PLUGIN and "-" in self.id else self.id


def _jsii_tarball(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    jsii = Path(list(spec.submodule_search_locations)[0]) / "_jsii"
    found = sorted(jsii.glob("*.jsii.tgz"))
    return found[0] if found else None


_NAG_ROW = re.compile(r"^\|\s*\[?(?P<id>(?P<pack>[A-Za-z0-9.]+)-[A-Za-z0-9]+)\]?(\([^)]*\))?\s*\|\s*(?P<cause>[^|]*)\|")


@functools.lru_cache(maxsize=1)
def nag_rules() -> tuple[Rule, ...]:
    from compliance._packs import NAG_PACKS

    tarball = _jsii_tarball("cdk_nag")
    if tarball is None:
        return ()
    with tarfile.open(tarball) as tar:
        member = tar.extractfile("package/RULES.md")
        text = member.read().decode() if member else ""
    rules = {}
    for line in text.splitlines():
        match = _NAG_ROW.match(line)
        if match and match["pack"] in NAG_PACKS:
            rules[match["id"]] = Rule(match["pack"], match["id"], match["cause"].strip())
    return tuple(rules.values())


@functools.lru_cache(maxsize=1)
def guard_rules() -> tuple[Rule, ...]:
    tarball = _jsii_tarball("cdklabs.cdk_validator_cfnguard")
    if tarball is None:
        return ()
    rules = {}
    with tarfile.open(tarball) as tar:
        for member in tar.getmembers():
            if not member.name.endswith(".guard"):
                continue
            text = tar.extractfile(member).read().decode(errors="replace")
            header = _guard_header(text)
            rule_id = header.get("Rule Identifier", [""])[0]
            if rule_id:
                rules[rule_id] = Rule(GUARD_PLUGIN, rule_id, " ".join(header.get("Description", [])),
                                      tuple(t for t in header.get("Reports on", []) if t.startswith("AWS::")))
    return tuple(rules.values())


def _guard_header(text: str) -> dict[str, list[str]]:
    """The comment block of a Control Tower guard file: '# Key:' followed by '#   value' lines."""
    header: dict[str, list[str]] = {}
    key = None
    for line in text.splitlines():
        if not line.startswith("#"):
            if header:
                break
            continue
        body = line.lstrip("#").rstrip()
        if body.strip().endswith(":") and not body.startswith("   "):
            key = body.strip()[:-1]
            header[key] = []
        elif key and body.strip():
            header[key].extend(v.strip() for v in body.split(",") if v.strip())
    return header


def all_rules() -> tuple[Rule, ...]:
    return nag_rules() + guard_rules()


def matching(patterns: tuple[str, ...], rules: tuple[Rule, ...] | None = None) -> list[Rule]:
    """Rules whose id (without pack prefix) matches any pattern (re.search, case-sensitive)."""
    compiled = [re.compile(p) for p in patterns]
    pool = all_rules() if rules is None else rules
    return [r for r in pool if any(c.search(r.short) for c in compiled)]
