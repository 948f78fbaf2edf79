"""The compliance responder's SageMaker AI Studio cases (issue #15), against botocore Stubbers
(moto 5.2.5 has no Studio app or domain operations): a domain that is not VpcOnly, sharing
without the platform key, an app on an unapproved instance type. Tested like the notebook
cases: the decision, the live re-check, the containment, replays and AWS errors."""

from __future__ import annotations

from types import SimpleNamespace
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

import compliance_responder_logic as logic
import compliance_responder_studio as studio

REGION = "eu-west-2"
ACCOUNT = "123456789012"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
OTHER_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/99999999-2222-3333-4444-555555555555"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:mlp-dev-security"
DOMAIN_ID = "d-abc123def456"
DOMAIN_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/{DOMAIN_ID}"
APP_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:app/{DOMAIN_ID}/jane-work/jupyterlab/default"
ENV = {"APPROVED_SUBNET_IDS": "subnet-a,subnet-b", "APPROVED_SECURITY_GROUP_IDS": "sg-1",
       "APPROVED_KMS_KEY_ARNS": KEY,
       "APPROVED_STUDIO_INSTANCE_TYPES": "ml.t3.medium,ml.m5.large"}

# The function's own scope: it acts only on events of its own account and region.
CONTEXT = SimpleNamespace(invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:x")

GOOD_DOMAIN = {
    "DomainArn": DOMAIN_ARN, "DomainId": DOMAIN_ID, "AppNetworkAccessType": "VpcOnly",
    "SubnetIds": ["subnet-a", "subnet-b"], "KmsKeyId": KEY,
    "DomainSettings": {"SecurityGroupIds": ["sg-1"]},
    "DefaultUserSettings": {"SecurityGroups": ["sg-1"], "SharingSettings": {
        "NotebookOutputOption": "Allowed", "S3OutputPath": "s3://b/sharing/",
        "S3KmsKeyId": KEY}},
}


def _event(name: str, params: dict, response: dict | None = None, **detail) -> dict:
    return {"source": "aws.sagemaker", "detail-type": "AWS API Call via CloudTrail",
            "account": ACCOUNT, "region": REGION,
            "detail": {"eventSource": "sagemaker.amazonaws.com", "eventName": name,
                       "eventID": "e-1", "awsRegion": REGION, "requestParameters": params,
                       "responseElements": response or {},
                       "userIdentity": {"arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/x/jane"},
                       **detail}}


@pytest.fixture
def clients(monkeypatch):
    monkeypatch.setenv("SECURITY_TOPIC_ARN", TOPIC)
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    sns = boto3.client("sns", region_name=REGION)
    with Stubber(sagemaker) as sm_stub, Stubber(sns) as sns_stub:
        yield logic.Dependencies(sagemaker=sagemaker, sns=sns), sm_stub, sns_stub
        sm_stub.assert_no_pending_responses()
        sns_stub.assert_no_pending_responses()


def _policy() -> logic.Policy:
    return logic.Policy.from_env(ENV)


# --- pure decisions -----------------------------------------------------------------------

def test_a_compliant_domain_has_no_violation() -> None:
    assert studio.evaluate_domain(GOOD_DOMAIN, _policy()) == []


@pytest.mark.parametrize("change, code", [
    ({"AppNetworkAccessType": "PublicInternetOnly"}, studio.NOT_VPC_ONLY),
    ({"AppNetworkAccessType": None}, studio.NOT_VPC_ONLY),  # AWS's default is public
    ({"KmsKeyId": None}, logic.NO_VOLUME_KMS),
    ({"KmsKeyId": OTHER_KEY}, logic.VOLUME_KMS_UNAPPROVED),
    ({"SubnetIds": ["subnet-public"]}, logic.SUBNET_UNAPPROVED),
    ({"DomainSettings": {"SecurityGroupIds": ["sg-open"]}}, logic.SG_UNAPPROVED),
    ({"DefaultUserSettings": {"SharingSettings": {"NotebookOutputOption": "Allowed",
                                                   "S3OutputPath": "s3://b/"}}},
     studio.SHARING_WITHOUT_KMS),
    ({"DefaultUserSettings": {"SharingSettings": {"NotebookOutputOption": "Allowed",
                                                   "S3KmsKeyId": OTHER_KEY}}},
     studio.SHARING_KMS_UNAPPROVED),
])
def test_each_domain_violation_is_found(change, code) -> None:
    domain = {**GOOD_DOMAIN, **change}
    codes = [v.code for v in studio.evaluate_domain(domain, _policy())]
    assert code in codes


def test_sharing_disabled_needs_no_key() -> None:
    domain = {**GOOD_DOMAIN, "DefaultUserSettings": {
        "SharingSettings": {"NotebookOutputOption": "Disabled"}}}
    assert studio.evaluate_domain(domain, _policy()) == []


def test_app_instance_types() -> None:
    approved = studio.approved_instance_types(ENV)
    assert studio.evaluate_app({"ResourceSpec": {"InstanceType": "ml.t3.medium"}}, approved) == []
    assert studio.evaluate_app({"ResourceSpec": {"InstanceType": "system"}}, approved) == []
    (violation,) = studio.evaluate_app({"ResourceSpec": {"InstanceType": "ml.p4d.24xlarge"}},
                                       approved)
    assert violation.code == studio.INSTANCE_TYPE_UNAPPROVED


# --- the app path: delete an app on an unapproved instance type ---------------------------

APP_PARAMS = {"domainId": DOMAIN_ID, "spaceName": "jane-work", "appType": "JupyterLab",
              "appName": "default", "resourceSpec": {"instanceType": "ml.p4d.24xlarge"}}
APP_KEY = {"DomainId": DOMAIN_ID, "SpaceName": "jane-work", "AppType": "JupyterLab",
           "AppName": "default"}


def _describe_app(stub, status="Pending", instance="ml.p4d.24xlarge") -> None:
    stub.add_response("describe_app", {"AppArn": APP_ARN, "Status": status,
                                       "ResourceSpec": {"InstanceType": instance},
                                       **APP_KEY}, APP_KEY)


def test_an_app_on_an_unapproved_instance_type_is_deleted_tagged_and_reported(clients) -> None:
    deps, sm, sns = clients
    _describe_app(sm)
    sm.add_response("add_tags", {}, {"ResourceArn": APP_ARN, "Tags": ANY})
    sm.add_response("delete_app", {}, APP_KEY)
    sns.add_response("publish", {"MessageId": "m"}, {"TopicArn": TOPIC, "Subject": ANY,
                                                     "Message": ANY})
    outcome = logic.process_event(_event("CreateApp", APP_PARAMS), deps=deps, environ=ENV, context=CONTEXT)
    assert outcome.status == logic.REMEDIATED and outcome.codes == [studio.INSTANCE_TYPE_UNAPPROVED]
    assert outcome.resource_arn == APP_ARN and outcome.notified and outcome.tagging == "tagged"


def test_a_compliant_app_is_not_touched(clients) -> None:
    deps, _, _ = clients  # no AWS call at all
    params = {**APP_PARAMS, "resourceSpec": {"instanceType": "ml.t3.medium"}}
    outcome = logic.process_event(_event("CreateApp", params), deps=deps, environ=ENV, context=CONTEXT)
    assert outcome.status == logic.COMPLIANT


def test_a_replayed_event_on_a_deleted_app_does_nothing(clients) -> None:
    deps, sm, _ = clients
    _describe_app(sm, status="Deleted")
    outcome = logic.process_event(_event("CreateApp", APP_PARAMS), deps=deps, environ=ENV, context=CONTEXT)
    assert outcome.status == logic.NO_ACTION and "already Deleted" in outcome.reason


def test_an_app_gone_before_describe_is_no_action(clients) -> None:
    deps, sm, _ = clients
    sm.add_client_error("describe_app", "ResourceNotFound", "App does not exist",
                        expected_params=APP_KEY)
    outcome = logic.process_event(_event("CreateApp", APP_PARAMS), deps=deps, environ=ENV, context=CONTEXT)
    assert outcome.status == logic.NO_ACTION


def test_an_access_denied_delete_fails_loudly(clients) -> None:
    deps, sm, sns = clients
    _describe_app(sm, status="InService")
    sm.add_response("add_tags", {}, {"ResourceArn": APP_ARN, "Tags": ANY})
    sm.add_client_error("delete_app", "AccessDeniedException", "denied", expected_params=APP_KEY)
    sns.add_response("publish", {"MessageId": "m"}, {"TopicArn": TOPIC, "Subject": ANY,
                                                     "Message": ANY})
    outcome = logic.process_event(_event("CreateApp", APP_PARAMS), deps=deps, environ=ENV, context=CONTEXT)
    assert outcome.status == logic.FAILED and outcome.must_fail and outcome.notified


def test_a_failed_call_and_other_events_are_not_studios(clients) -> None:
    deps, _, _ = clients
    failed = _event("CreateApp", APP_PARAMS, errorCode="ValidationException")
    assert logic.process_event(failed, deps=deps, environ=ENV, context=CONTEXT).status == logic.SKIPPED
    assert studio.process_studio_event(_event("CreateTrainingJob", {}), deps, ENV) is None
    assert studio.process_studio_event({"source": "aws.s3"}, deps, ENV) is None
    assert studio.process_studio_event("not an event", deps, ENV) is None


# --- the domain path: report, never change -------------------------------------------------

def test_a_public_domain_is_tagged_and_reported_but_not_changed(clients) -> None:
    deps, sm, sns = clients
    sm.add_response("describe_domain", {**GOOD_DOMAIN, "AppNetworkAccessType":
                                        "PublicInternetOnly"}, {"DomainId": DOMAIN_ID})
    sm.add_response("add_tags", {}, {"ResourceArn": DOMAIN_ARN, "Tags": ANY})
    sns.add_response("publish", {"MessageId": "m"}, {"TopicArn": TOPIC, "Subject": ANY,
                                                     "Message": ANY})
    event = _event("CreateDomain", {"domainName": "rogue", "appNetworkAccessType":
                                    "PublicInternetOnly"}, {"domainArn": DOMAIN_ARN})
    outcome = logic.process_event(event, deps=deps, environ=ENV, context=CONTEXT)
    assert outcome.status == studio.DETECTED and outcome.codes == [studio.NOT_VPC_ONLY]
    assert outcome.resource_arn == DOMAIN_ARN and outcome.notified
    assert "home directories" in outcome.reason
    # no UpdateDomain / DeleteDomain was called: the Stubber would have refused it


def test_an_update_leaving_sharing_without_the_key_is_reported(clients) -> None:
    deps, sm, sns = clients
    live = {**GOOD_DOMAIN, "DefaultUserSettings": {"SharingSettings": {
        "NotebookOutputOption": "Allowed", "S3OutputPath": "s3://b/"}}}
    sm.add_response("describe_domain", live, {"DomainId": DOMAIN_ID})
    sm.add_response("add_tags", {}, {"ResourceArn": DOMAIN_ARN, "Tags": ANY})
    sns.add_response("publish", {"MessageId": "m"}, {"TopicArn": TOPIC, "Subject": ANY,
                                                     "Message": ANY})
    event = _event("UpdateDomain", {"domainId": DOMAIN_ID, "defaultUserSettings": {}})
    outcome = logic.process_event(event, deps=deps, environ=ENV, context=CONTEXT)
    assert outcome.status == studio.DETECTED and outcome.codes == [studio.SHARING_WITHOUT_KMS]


def test_a_compliant_live_domain_is_left_alone(clients) -> None:
    deps, sm, _ = clients
    sm.add_response("describe_domain", GOOD_DOMAIN, {"DomainId": DOMAIN_ID})
    event = _event("UpdateDomain", {"domainId": DOMAIN_ID})
    assert logic.process_event(event, deps=deps, environ=ENV, context=CONTEXT).status == logic.COMPLIANT


def test_the_report_names_the_person_and_the_violations(clients) -> None:
    deps, sm, sns = clients
    sm.add_response("describe_domain", {**GOOD_DOMAIN, "KmsKeyId": OTHER_KEY},
                    {"DomainId": DOMAIN_ID})
    sm.add_response("add_tags", {}, {"ResourceArn": DOMAIN_ARN, "Tags": ANY})
    seen: dict = {}
    sns.add_response("publish", {"MessageId": "m"}, {"TopicArn": TOPIC, "Subject": ANY,
                                                     "Message": ANY})
    deps.sns.meta.events.register("provide-client-params.sns.Publish",
                                  lambda params, **_: seen.update(params))
    logic.process_event(_event("UpdateDomain", {"domainId": DOMAIN_ID}), deps=deps, environ=ENV, context=CONTEXT)
    message = json.loads(seen["Message"])
    assert message["violations"] == [logic.VOLUME_KMS_UNAPPROVED]
    assert message["userArn"].endswith("/jane") and message["resourceArn"] == DOMAIN_ARN


@pytest.mark.parametrize("scope", [{"account": "999999999999"}, {"region": "us-east-1"}])
def test_a_studio_event_of_another_scope_is_skipped_before_any_call(scope) -> None:
    """A crafted or relayed CreateApp naming another account or region never deletes an app
    here: it is skipped before any AWS call (no client is even given)."""
    event = {**_event("CreateApp", {**APP_PARAMS, "instanceType": "ml.p4d.24xlarge"}), **scope}
    outcome = logic.process_event(event, deps=None, environ=ENV, context=CONTEXT)
    assert outcome.status == logic.SKIPPED and "not this function's" in outcome.reason
