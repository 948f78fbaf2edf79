"""SageMaker AI Studio judgement for the compliance responder (issue #15; plain Python).

``compliance_responder_logic.process_event`` hands a CloudTrail event to
:func:`process_studio_event` first; it returns ``None`` for anything that is not one of the
Studio calls below, and an ``Outcome`` otherwise.

* ``CreateApp`` on an instance type the platform has not approved -> the app is tagged,
  deleted (``DeleteApp``: the space and its storage stay; an app is billed only while it
  runs) and the security team is told.
* ``CreateDomain`` / ``UpdateDomain`` leaving a domain not ``VpcOnly``, its home and app
  volumes without a platform key, or notebook sharing without the platform key -> the domain
  is tagged and the security team is told, but it is NOT changed or deleted automatically:
  a domain holds people's home directories, so the fix is a reviewed change (its status is
  ``DETECTED``). AWS Config's SAGEMAKER_DOMAIN_IN_VPC rule reports the same domain.

As in the main logic, the decision is taken against the live resource (Describe*), so a
replayed event on a fixed, deleted or deleting resource does nothing.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

import compliance_responder_logic as logic

logger = logging.getLogger(logic.LOGGER_NAME)

DETECTED = "DETECTED"  # a violation reported and tagged, deliberately not changed

NOT_VPC_ONLY = "NOT_VPC_ONLY"
INSTANCE_TYPE_UNAPPROVED = "INSTANCE_TYPE_UNAPPROVED"
SHARING_WITHOUT_KMS = "SHARING_WITHOUT_KMS"
SHARING_KMS_UNAPPROVED = "SHARING_KMS_UNAPPROVED"

DOMAIN_EVENTS = frozenset({"CreateDomain", "UpdateDomain"})
APP_EVENTS = frozenset({"CreateApp"})
APP_GONE = frozenset({"Deleted", "Deleting", "Failed"})


def approved_instance_types(environ: Mapping[str, str] | None = None) -> frozenset[str]:
    env = os.environ if environ is None else environ
    return frozenset(
        t.strip() for t in env.get("APPROVED_STUDIO_INSTANCE_TYPES", "").split(",") if t.strip()
    )


# --- pure decisions -----------------------------------------------------------------------


def evaluate_domain(config: Mapping[str, Any], policy: logic.Policy) -> list[logic.Violation]:
    """A domain's configuration (CreateDomain request or DescribeDomain output, PascalCase)."""
    out: list[logic.Violation] = []
    access = config.get("AppNetworkAccessType") or "PublicInternetOnly"  # AWS's default
    if access != "VpcOnly":
        out.append(
            logic.Violation(
                NOT_VPC_ONLY,
                f"AppNetworkAccessType is {access}: Studio "
                "apps reach the internet outside the platform VPC",
            )
        )
    for subnet in config.get("SubnetIds") or []:
        if not policy.subnet_ok(subnet):
            out.append(logic.Violation(logic.SUBNET_UNAPPROVED, f"subnet {subnet}"))
    groups = list((config.get("DomainSettings") or {}).get("SecurityGroupIds") or [])
    groups += list((config.get("DefaultUserSettings") or {}).get("SecurityGroups") or [])
    for group in groups:
        if not policy.security_group_ok(group):
            out.append(logic.Violation(logic.SG_UNAPPROVED, f"security group {group}"))
    key = config.get("KmsKeyId")
    if not key:
        out.append(
            logic.Violation(
                logic.NO_VOLUME_KMS, "no KmsKeyId: home EFS and app volumes use an AWS-owned key"
            )
        )
    elif not policy.kms_ok(key):
        out.append(logic.Violation(logic.VOLUME_KMS_UNAPPROVED, f"KmsKeyId {key}"))
    sharing = (config.get("DefaultUserSettings") or {}).get("SharingSettings") or {}
    if sharing.get("NotebookOutputOption") == "Allowed":
        sharing_key = sharing.get("S3KmsKeyId")
        if not sharing_key:
            out.append(
                logic.Violation(
                    SHARING_WITHOUT_KMS, "notebook sharing is Allowed without S3KmsKeyId"
                )
            )
        elif not policy.kms_ok(sharing_key):
            out.append(logic.Violation(SHARING_KMS_UNAPPROVED, f"S3KmsKeyId {sharing_key}"))
    return out


def evaluate_app(config: Mapping[str, Any], approved: frozenset[str]) -> list[logic.Violation]:
    """An app's configuration (CreateApp request or DescribeApp output, PascalCase). An empty
    allow-list checks nothing (the CDK app always sets it)."""
    instance = (config.get("ResourceSpec") or {}).get("InstanceType")
    if approved and instance and instance != "system" and instance not in approved:
        return [
            logic.Violation(
                INSTANCE_TYPE_UNAPPROVED, f"{instance} is not one of {', '.join(sorted(approved))}"
            )
        ]
    return []


# --- events -------------------------------------------------------------------------------


def _studio_call(event: Any) -> tuple[str, Mapping[str, Any], Mapping[str, Any]] | None:
    if not isinstance(event, Mapping) or event.get("source") != logic.EXPECTED_SOURCE:
        return None
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        return None
    name = detail.get("eventName")
    if name not in DOMAIN_EVENTS | APP_EVENTS:
        return None
    return name, detail, event


def _app_key(params: Mapping[str, Any]) -> dict[str, str]:
    key = {k: params[k] for k in ("DomainId", "AppType", "AppName") if params.get(k)}
    owner = "SpaceName" if params.get("SpaceName") else "UserProfileName"
    if params.get(owner):
        key[owner] = params[owner]
    return key


def _domain_id(name: str, params: Mapping[str, Any], detail: Mapping[str, Any]) -> str | None:
    if name == "UpdateDomain":
        return params.get("DomainId")
    response = logic.normalise_keys(detail.get("responseElements") or {})
    arn = response.get("DomainArn") or ""
    return arn.rsplit("/", 1)[-1] if "/" in arn else None


def _notify(deps: Any, outcome: logic.Outcome, user_arn: str | None) -> None:
    topic = os.environ.get("SECURITY_TOPIC_ARN")
    if not topic:
        logger.error("SECURITY_TOPIC_ARN not set: security team not told")
        return
    subject = (
        f"SageMaker Studio {outcome.resource_type} {outcome.status.lower()}: "
        f"{', '.join(outcome.codes)}"
    )[:100]
    body = {**outcome.to_dict(), "userArn": user_arn}
    try:
        deps.sns.publish(TopicArn=topic, Subject=subject, Message=json.dumps(body, indent=2))
        outcome.notified = True
    except (ClientError, BotoCoreError) as exc:
        outcome.remediation_errors += 1
        logger.error("notification failed", extra={"error": str(exc)})


def _tag(deps: Any, outcome: logic.Outcome, event_id: str) -> None:
    tags = [
        {"Key": logic.TAG_VIOLATION, "Value": " ".join(outcome.codes)[: logic.TAG_VALUE_MAX]},
        {"Key": logic.TAG_EVENT_ID, "Value": event_id[: logic.TAG_VALUE_MAX]},
    ]
    try:
        deps.sagemaker.add_tags(ResourceArn=outcome.resource_arn, Tags=tags)
        outcome.tagging = "tagged"
    except (ClientError, BotoCoreError) as exc:
        outcome.tagging = "failed"
        outcome.remediation_errors += 1
        logger.warning("could not tag the Studio resource", extra={"error": str(exc)})


def _failed(
    deps: Any, outcome: logic.Outcome, exc: Exception, user_arn: str | None
) -> logic.Outcome:
    outcome.status = logic.FAILED
    outcome.reason = f"{type(exc).__name__}: {exc}"
    outcome.remediation_errors += 1
    outcome.must_fail = True
    _notify(deps, outcome, user_arn)
    return outcome


def _not_found(exc: ClientError) -> bool:
    code = exc.response.get("Error", {}).get("Code", "")
    return code in ("ResourceNotFound", "ResourceNotFoundException", "ValidationException") and (
        "not found" in str(exc).lower()
        or "does not exist" in str(exc).lower()
        or code.startswith("ResourceNotFound")
    )


def process_studio_event(
    event: Any, deps: Any | None = None, environ: Mapping[str, str] | None = None
) -> logic.Outcome | None:
    """The outcome for a Studio call, or None when the event is not one."""
    call = _studio_call(event)
    if call is None:
        return None
    name, detail, _ = call
    if detail.get("errorCode") or detail.get("errorMessage"):
        return logic.Outcome(
            status=logic.SKIPPED,
            reason=f"the API call failed ({detail.get('errorCode')}): no resource was changed",
        )
    event_id = detail.get("eventID")
    params = logic.normalise_keys(detail.get("requestParameters") or {})
    if not isinstance(event_id, str) or not event_id or not params:
        return logic.Outcome(status=logic.SKIPPED, reason="no eventID or requestParameters")
    user_arn = (detail.get("userIdentity") or {}).get("arn")
    policy = logic.Policy.from_env(environ)
    approved = approved_instance_types(environ)
    region = detail.get("awsRegion")
    if deps is None:
        deps = logic.Dependencies(
            sagemaker=logic.get_client("sagemaker", region), sns=logic.get_client("sns", region)
        )

    if name in APP_EVENTS:
        key = _app_key(params)
        outcome = logic.Outcome(
            status=logic.COMPLIANT,
            reason="",
            event_id=event_id,
            event_name=name,
            resource_type="app",
            resource_name=key.get("AppName"),
            action="DeleteApp",
        )
        if len(key) < 4:
            outcome.status, outcome.reason = logic.SKIPPED, "requestParameters name no app"
            return outcome
        if not evaluate_app(params, approved):
            outcome.reason = "request is compliant"
            return outcome
        try:
            live = deps.sagemaker.describe_app(**key)
        except ClientError as exc:
            if _not_found(exc):
                outcome.status, outcome.reason = logic.NO_ACTION, "the app no longer exists"
                return outcome
            return _failed(deps, outcome, exc, user_arn)
        outcome.resource_arn = live.get("AppArn")
        outcome.violations = evaluate_app(live, approved)
        if not outcome.violations:
            outcome.status, outcome.reason = logic.NO_ACTION, "the live app is compliant"
            return outcome
        if live.get("Status") in APP_GONE:
            outcome.status = logic.NO_ACTION
            outcome.reason = f"the app is already {live.get('Status')}: nothing to delete"
            return outcome
        _tag(deps, outcome, event_id)
        try:
            deps.sagemaker.delete_app(**key)
        except ClientError as exc:
            if _not_found(exc):
                outcome.status, outcome.reason = logic.NO_ACTION, "the app no longer exists"
                return outcome
            return _failed(deps, outcome, exc, user_arn)
        outcome.status, outcome.reason = logic.REMEDIATED, "DeleteApp succeeded"
        logger.warning(
            "Studio app on an unapproved instance type deleted",
            extra={"resource_arn": outcome.resource_arn, "user_arn": user_arn},
        )
        _notify(deps, outcome, user_arn)
        return outcome

    domain_id = _domain_id(name, params, detail)
    outcome = logic.Outcome(
        status=logic.COMPLIANT,
        reason="",
        event_id=event_id,
        event_name=name,
        resource_type="domain",
        resource_name=domain_id,
        action="none (reviewed change)",
    )
    if not domain_id:
        outcome.status, outcome.reason = logic.SKIPPED, "no domain id in the event"
        return outcome
    try:
        live = deps.sagemaker.describe_domain(DomainId=domain_id)
    except ClientError as exc:
        if _not_found(exc):
            outcome.status, outcome.reason = logic.NO_ACTION, "the domain no longer exists"
            return outcome
        return _failed(deps, outcome, exc, user_arn)
    outcome.resource_arn = live.get("DomainArn")
    outcome.violations = evaluate_domain(live, policy)
    if not outcome.violations:
        outcome.reason = "the live domain is compliant"
        return outcome
    _tag(deps, outcome, event_id)
    outcome.status = DETECTED
    outcome.reason = (
        "reported, not changed: the domain holds people's home directories; "
        "fix it with a reviewed change"
    )
    logger.warning(
        "non-compliant Studio domain",
        extra={
            "resource_arn": outcome.resource_arn,
            "violations": outcome.codes,
            "user_arn": user_arn,
        },
    )
    _notify(deps, outcome, user_arn)
    return outcome
