"""Tests for lambda/lineage_recorder: SageMaker ML Lineage Tracking of one training run.

Why there is a fake: moto 5.2.5 implements none of the SageMaker ML Lineage operations.
create_artifact, create_context, create_action, add_association, list_associations,
list_artifacts, list_contexts, list_actions and describe_artifact/_context/_action all raise
``NotImplementedError: The <op> action has not been implemented``. moto does implement the model
registry (CreateModelPackageGroup / CreateModelPackage / DescribeModelPackage), which the recorder
uses to check that the model package exists, so that part runs on moto.

The tests therefore use ONE real boto3 client inside ``mock_aws()``:

* model registry calls go to moto;
* the nine lineage operations the logic uses (``FakeLineageBackend.OPERATIONS``) are answered by
  an in-memory fake hooked on botocore's ``before-call.sagemaker.<Operation>`` event, the hook
  ``botocore.stub.Stubber`` uses. A request reaching the fake has been through botocore's own
  parameter validation and serialisation, and the fake also checks every request and every
  response against the botocore service model (required and unknown members, types, lengths,
  enums, patterns), so neither the fake nor the logic can drift from the real API shapes.
  Any other lineage operation would fall through to moto and fail with NotImplementedError.

Not modelled by the fake: the real service's error for a duplicate AddAssociation / CreateContext
is not documented; the fake answers ValidationException "... already exists" and the logic also
accepts ConflictException.
"""

from __future__ import annotations

import functools
import io
import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

pytestmark = pytest.mark.control("traceability", "reproducibility")

REGION = "eu-west-2"
ACCOUNT = "123456789012"  # moto's default account

_SERVICE_MODEL = botocore.session.get_session().get_service_model("sagemaker")


# --------------------------------------------------------------------------------------------
# Shape checking against the botocore service model
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # Java-only syntax such as \p{L}; botocore itself does not check patterns
        return None


def check_shape(value: Any, shape: Any, path: str, *, response: bool) -> None:
    """Assert that ``value`` conforms to a botocore shape (request: wire JSON; response: parsed)."""
    kind = shape.type_name
    meta = shape.metadata
    if kind == "structure":
        assert isinstance(value, dict), f"{path}: expected an object, got {value!r}"
        unknown = set(value) - set(shape.members)
        assert not unknown, f"{path}: members not in the {shape.name} shape: {sorted(unknown)}"
        missing = [m for m in shape.required_members if m not in value]
        assert not missing, f"{path}: required members missing: {missing}"
        for key, item in value.items():
            check_shape(item, shape.members[key], f"{path}.{key}", response=response)
    elif kind == "list":
        assert isinstance(value, list), f"{path}: expected a list"
        assert meta.get("min", 0) <= len(value) <= meta.get("max", 10**9), f"{path}: list length"
        for index, item in enumerate(value):
            check_shape(item, shape.member, f"{path}[{index}]", response=response)
    elif kind == "map":
        assert isinstance(value, dict), f"{path}: expected a map"
        assert meta.get("min", 0) <= len(value) <= meta.get("max", 10**9), (
            f"{path}: {len(value)} entries, the API allows {meta.get('min', 0)}-{meta.get('max')}"
        )
        for key, item in value.items():
            check_shape(key, shape.key, f"{path} key {key!r}", response=response)
            check_shape(item, shape.value, f"{path}[{key!r}]", response=response)
    elif kind == "string":
        assert isinstance(value, str), f"{path}: expected a string, got {value!r}"
        assert meta.get("min", 0) <= len(value) <= meta.get("max", 10**9), (
            f"{path}: length {len(value)} outside {meta.get('min', 0)}-{meta.get('max')}"
        )
        if shape.enum:
            assert value in shape.enum, f"{path}: {value!r} not in {shape.enum}"
        pattern = _compiled(meta["pattern"]) if "pattern" in meta else None
        if pattern is not None:
            assert pattern.fullmatch(value), f"{path}: {value!r} does not match {meta['pattern']!r}"
    elif kind in ("integer", "long"):
        assert isinstance(value, int) and not isinstance(value, bool), f"{path}: expected an integer"
        assert meta.get("min", -(10**18)) <= value <= meta.get("max", 10**18), f"{path}: out of range"
    elif kind == "boolean":
        assert isinstance(value, bool), f"{path}: expected a boolean"
    elif kind == "timestamp":
        expected = datetime if response else (int, float)
        assert isinstance(value, expected), f"{path}: expected a timestamp, got {value!r}"


# --------------------------------------------------------------------------------------------
# In-memory lineage backend
# --------------------------------------------------------------------------------------------


class _ServiceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class FakeLineageBackend:
    """SageMaker lineage store answering the operations the recorder and its queries use."""

    OPERATIONS = {
        # operation: request members the fake implements (anything else fails the test)
        "CreateArtifact": {"ArtifactName", "Source", "ArtifactType", "Properties", "MetadataProperties"},
        "ListArtifacts": {"SourceUri", "ArtifactType", "SortBy", "SortOrder", "NextToken", "MaxResults"},
        "DescribeArtifact": {"ArtifactArn"},
        "CreateContext": {"ContextName", "Source", "ContextType", "Description", "Properties"},
        "DescribeContext": {"ContextName"},
        "UpdateContext": {"ContextName", "Description", "Properties", "PropertiesToRemove"},
        "ListContexts": {"SourceUri", "ContextType", "NextToken", "MaxResults"},
        "DeleteArtifact": {"ArtifactArn", "Source"},
        "CreateAction": {
            "ActionName", "Source", "ActionType", "Description", "Status", "Properties", "MetadataProperties",
        },
        "DescribeAction": {"ActionName"},
        "AddAssociation": {"SourceArn", "DestinationArn", "AssociationType"},
        "ListAssociations": {
            "SourceArn", "DestinationArn", "AssociationType", "SourceType", "DestinationType",
            "NextToken", "MaxResults",
        },
    }
    MUTATING = {"CreateArtifact", "CreateContext", "CreateAction", "AddAssociation", "UpdateContext",
                "DeleteArtifact"}
    SUMMARY_MEMBERS = ("ArtifactArn", "ArtifactName", "Source", "ArtifactType", "CreationTime", "LastModifiedTime")

    def __init__(self, *, region: str, account: str, page_size: int = 3) -> None:
        self.region = region
        self.account = account
        self.page_size = page_size  # small, so that the logic's pagination is exercised
        self.artifacts: dict[str, dict[str, Any]] = {}
        self.contexts: dict[str, dict[str, Any]] = {}
        self.actions: dict[str, dict[str, Any]] = {}
        self.associations: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.hide_associations_from_list = False  # simulate a concurrent writer
        self.stale_describe_once: set[str] = set()  # names reported missing once (race)
        self._tick = itertools.count()
        self._lock = threading.RLock()
        self.fail_write: tuple[int, Exception] | None = None  # (n, error): the n-th write fails
        self.writes = 0
        self._epoch = datetime(2024, 5, 1, tzinfo=timezone.utc)

    # -- plumbing ------------------------------------------------------------------------------

    def attach(self, client: Any) -> None:
        for operation in self.OPERATIONS:
            client.meta.events.register(f"before-call.sagemaker.{operation}", self._on_call)

    def _on_call(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        with self._lock:  # concurrent invocations (threads) see one consistent store
            return self._answer(model, params)

    def _answer(self, model: Any, params: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        operation = model.name
        request = json.loads(params.get("body") or b"{}")
        check_shape(request, model.input_shape, f"{operation} request", response=False)
        unsupported = set(request) - self.OPERATIONS[operation]
        assert not unsupported, f"{operation}: the fake does not implement {sorted(unsupported)}"
        self.calls.append((operation, request))
        if operation in self.MUTATING:
            self.writes += 1
            if self.fail_write is not None and self.writes == self.fail_write[0]:
                failure = self.fail_write[1]
                if isinstance(failure, _ServiceError):
                    return AWSResponse(params.get("url"), 400, {}, None), {
                        "Error": {"Code": failure.code, "Message": failure.message},
                        "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 9},
                    }
                raise failure
        handler = getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", operation).lower())
        try:
            body = handler(request)
        except _ServiceError as error:
            return AWSResponse(params.get("url"), 400, {}, None), {
                "Error": {"Code": error.code, "Message": error.message},
                "ResponseMetadata": {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 0},
            }
        check_shape(body, model.output_shape, f"{operation} response", response=True)
        body["ResponseMetadata"] = {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}
        return AWSResponse(params.get("url"), 200, {}, None), body

    def _now(self) -> datetime:
        return self._epoch + timedelta(seconds=next(self._tick))

    def _arn(self, kind: str, name: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account}:{kind}/{name}"

    def _page(self, items: list[dict[str, Any]], request: dict[str, Any], key: str) -> dict[str, Any]:
        start = int(request.get("NextToken") or 0)
        size = min(request.get("MaxResults", 10), self.page_size)
        body: dict[str, Any] = {key: items[start : start + size]}
        if start + size < len(items):
            body["NextToken"] = str(start + size)
        return body

    def _entity(self, arn: str) -> tuple[str, str | None] | None:
        """(type, name) of the lineage entity with this ARN, or None."""
        if arn in self.artifacts:
            record = self.artifacts[arn]
            return record["ArtifactType"], record.get("ArtifactName")
        for record in self.contexts.values():
            if record["ContextArn"] == arn:
                return record["ContextType"], record["ContextName"]
        for record in self.actions.values():
            if record["ActionArn"] == arn:
                return record["ActionType"], record["ActionName"]
        return None

    def _named(self, store: dict[str, dict[str, Any]], name_or_arn: str, kind: str) -> dict[str, Any]:
        name = name_or_arn.rsplit("/", 1)[-1] if name_or_arn.startswith("arn:") else name_or_arn
        if name in self.stale_describe_once:
            self.stale_describe_once.discard(name)
            raise _ServiceError("ResourceNotFound", f"{kind} {name} does not exist")
        if name not in store:
            raise _ServiceError("ResourceNotFound", f"{kind} {name} does not exist")
        return dict(store[name])

    # -- operations ----------------------------------------------------------------------------

    def _create_artifact(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._arn("artifact", uuid.uuid4().hex)
        now = self._now()
        self.artifacts[arn] = {
            "ArtifactArn": arn,
            **{k: request[k] for k in ("ArtifactName", "Properties", "MetadataProperties") if k in request},
            "Source": request["Source"],
            "ArtifactType": request["ArtifactType"],
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        return {"ArtifactArn": arn}

    def _list_artifacts(self, request: dict[str, Any]) -> dict[str, Any]:
        summaries = [
            {k: r[k] for k in self.SUMMARY_MEMBERS if k in r}
            for r in self.artifacts.values()
            if r["Source"]["SourceUri"] == request.get("SourceUri", r["Source"]["SourceUri"])
            and r["ArtifactType"] == request.get("ArtifactType", r["ArtifactType"])
        ]
        # SortBy CreationTime is the only key the API has; default: newest first. A page token
        # is a position, so a deletion between two pages shifts what the next one holds.
        ascending = request.get("SortOrder") == "Ascending"
        summaries.sort(key=lambda s: s["CreationTime"], reverse=not ascending)
        return self._page(summaries, request, "ArtifactSummaries")

    def _describe_artifact(self, request: dict[str, Any]) -> dict[str, Any]:
        if request["ArtifactArn"] not in self.artifacts:
            raise _ServiceError("ResourceNotFound", f"Artifact {request['ArtifactArn']} does not exist")
        return dict(self.artifacts[request["ArtifactArn"]])

    def _create_context(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ContextName"]
        if name in self.contexts:
            raise _ServiceError("ValidationException", f"Context {name} already exists")
        now = self._now()
        self.contexts[name] = {
            "ContextName": name,
            "ContextArn": self._arn("context", name),
            **{k: request[k] for k in ("Source", "ContextType", "Description", "Properties") if k in request},
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        return {"ContextArn": self.contexts[name]["ContextArn"]}

    def _describe_context(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._named(self.contexts, request["ContextName"], "Context")

    def _update_context(self, request: dict[str, Any]) -> dict[str, Any]:
        # The API reference: "Properties: The new list of properties. Overwrites the current
        # property list." The fake overwrites, so a logic that sent only the changed key fails.
        record = self._named(self.contexts, request["ContextName"], "Context")
        stored = self.contexts[record["ContextName"]]
        if "Properties" in request:
            stored["Properties"] = dict(request["Properties"])
        for key in request.get("PropertiesToRemove", []):
            stored.get("Properties", {}).pop(key, None)
        stored["LastModifiedTime"] = self._now()
        return {"ContextArn": stored["ContextArn"]}

    def _list_contexts(self, request: dict[str, Any]) -> dict[str, Any]:
        summaries = [
            {k: r[k] for k in ("ContextArn", "ContextName", "Source", "ContextType", "CreationTime",
                               "LastModifiedTime") if k in r}
            for r in self.contexts.values()
            if r["ContextType"] == request.get("ContextType", r["ContextType"])
            and r["Source"]["SourceUri"] == request.get("SourceUri", r["Source"]["SourceUri"])
        ]
        summaries.sort(key=lambda s: s["CreationTime"], reverse=True)
        return self._page(summaries, request, "ContextSummaries")

    def _delete_artifact(self, request: dict[str, Any]) -> dict[str, Any]:
        arn = request.get("ArtifactArn")
        if arn not in self.artifacts:
            raise _ServiceError("ResourceNotFound", f"Artifact {arn} does not exist")
        if any(arn in (a["SourceArn"], a["DestinationArn"]) for a in self.associations):
            raise _ServiceError("ValidationException", f"Artifact {arn} has associations")
        del self.artifacts[arn]
        return {"ArtifactArn": arn}

    def _create_action(self, request: dict[str, Any]) -> dict[str, Any]:
        name = request["ActionName"]
        if name in self.actions:
            raise _ServiceError("ValidationException", f"Action {name} already exists")
        now = self._now()
        self.actions[name] = {
            "ActionName": name,
            "ActionArn": self._arn("action", name),
            **{
                k: request[k]
                for k in ("Source", "ActionType", "Description", "Status", "Properties", "MetadataProperties")
                if k in request
            },
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        return {"ActionArn": self.actions[name]["ActionArn"]}

    def _describe_action(self, request: dict[str, Any]) -> dict[str, Any]:
        return self._named(self.actions, request["ActionName"], "Action")

    def _add_association(self, request: dict[str, Any]) -> dict[str, Any]:
        source, destination = request["SourceArn"], request["DestinationArn"]
        source_entity, destination_entity = self._entity(source), self._entity(destination)
        for arn, entity in ((source, source_entity), (destination, destination_entity)):
            if entity is None:
                raise _ServiceError("ResourceNotFound", f"{arn} does not exist")
        if any(a["SourceArn"] == source and a["DestinationArn"] == destination for a in self.associations):
            raise _ServiceError("ValidationException", f"Association {source} -> {destination} already exists")
        association = {
            "SourceArn": source,
            "DestinationArn": destination,
            "SourceType": source_entity[0],
            "DestinationType": destination_entity[0],
            "AssociationType": request.get("AssociationType", "ContributedTo"),
            "CreationTime": self._now(),
        }
        if source_entity[1]:
            association["SourceName"] = source_entity[1]
        if destination_entity[1]:
            association["DestinationName"] = destination_entity[1]
        self.associations.append(association)
        return {"SourceArn": source, "DestinationArn": destination}

    def _list_associations(self, request: dict[str, Any]) -> dict[str, Any]:
        filters = ("SourceArn", "DestinationArn", "AssociationType", "SourceType", "DestinationType")
        found = [
            dict(a)
            for a in self.associations
            if not self.hide_associations_from_list and all(a.get(f) == request[f] for f in filters if f in request)
        ]
        found.sort(key=lambda a: a["CreationTime"], reverse=True)
        return self._page(found, request, "AssociationSummaries")

    # -- test helpers --------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {
            "artifacts": len(self.artifacts),
            "contexts": len(self.contexts),
            "actions": len(self.actions),
            "associations": len(self.associations),
        }

    def mutations(self) -> list[str]:
        return [operation for operation, _ in self.calls if operation in self.MUTATING]

    def edges(self) -> set[tuple[str, str, str]]:
        return {(a["SourceArn"], a["DestinationArn"], a["AssociationType"]) for a in self.associations}


# --------------------------------------------------------------------------------------------
# Fixtures and realistic events
# --------------------------------------------------------------------------------------------


@pytest.fixture
def logic():
    import lineage_recorder_logic

    return lineage_recorder_logic


@functools.lru_cache(maxsize=1)
def _boto3_session() -> boto3.Session:
    # mock_aws() resets boto3's default session; a session of our own keeps its loaded service
    # model, so each test's client takes milliseconds instead of ~0.3 s.
    return boto3.Session()


@pytest.fixture
def aws():
    with mock_aws():
        client = _boto3_session().client("sagemaker", region_name=REGION)
        backend = FakeLineageBackend(region=REGION, account=ACCOUNT)
        backend.attach(client)
        client.create_model_package_group(ModelPackageGroupName="credit-risk")
        yield SimpleNamespace(client=client, backend=backend)


def register_model(client: Any, run: str) -> str:
    return client.create_model_package(
        ModelPackageGroupName="credit-risk",
        ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [
                {
                    "Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1.7-1",
                    "ModelDataUrl": f"s3://bank-ml-models-{ACCOUNT}/credit-risk/{run}/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]


RAW = {
    "uri": f"s3://bank-ml-raw-{ACCOUNT}/credit/applications-2024-04.csv",
    "version_id": "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY+MTRCxf3vjVBH40Nrjfkd",
}


def dataset(run: str, role: str) -> dict[str, str]:
    return {
        "uri": f"s3://bank-ml-processed-{ACCOUNT}/credit-risk/{run}/{role}/{role}.csv",
        "version_id": f"v-{run}-{role}-Jlcpd3dIbrHY",
        "etag": f'"{uuid.uuid5(uuid.NAMESPACE_URL, run + role).hex}"',
    }


def make_event(model_package_arn: str, run: str, **overrides: Any) -> dict[str, Any]:
    sagemaker_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}"
    event = {
        "schema_version": "1",
        "commit": {
            "id": "3f786850e387550fdab836ed7e6dc881de23001b",
            "repository": f"https://git-codecommit.{REGION}.amazonaws.com/v1/repos/credit-risk-model",
            "branch": "main",
            "author": "Jane Analyst <jane.analyst@bank.example>",
            "date": "2024-05-01T09:30:00+01:00",
            "message": "Tune max_depth for the credit risk model\n\nTicket: MLR-142",
        },
        "datasets": {
            "raw": dict(RAW),
            "train": dataset(run, "train"),
            "validation": dataset(run, "validation"),
            "test": dataset(run, "test"),
        },
        "processing_jobs": {
            "preprocess": f"{sagemaker_arn}:processing-job/credit-risk-preprocess-{run}",
            "evaluate": f"{sagemaker_arn}:processing-job/credit-risk-eval-{run}",
            "explain": f"{sagemaker_arn}:processing-job/credit-risk-explain-{run}",
            "bias": f"{sagemaker_arn}:processing-job/credit-risk-bias-{run}",
        },
        "training_job_arn": f"{sagemaker_arn}:training-job/credit-risk-train-{run}",
        "hyperparameters": {"max_depth": "6", "eta": "0.2", "objective": "binary:logistic", "num_round": 200},
        "model_package_arn": model_package_arn,
        "pipeline_execution_id": f"credit-risk-{run}",
        "step_functions_execution_arn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:SecureMlTraining:{run}",
    }
    event.update(overrides)
    return event


@dataclass
class FakeLambdaContext:
    function_name: str = "lineage-recorder"
    function_version: str = "$LATEST"
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:lineage-recorder"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "5b3c1a52-2f6f-4f0e-8d0e-0a8b1f2c3d4e"
    log_group_name: str = "/aws/lambda/lineage-recorder"
    log_stream_name: str = "2024/05/01/[$LATEST]abc"


def emitted_metrics(stdout: str) -> list[dict[str, Any]]:
    blobs = []
    for line in stdout.splitlines():
        line = line.strip()
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_provenance_of_model_package_reaches_commit_and_exact_dataset_versions(aws, logic):
    model = register_model(aws.client, "run1")
    event = make_event(model, "run1")

    logic.record_event(event, sagemaker=aws.client)
    provenance = logic.provenance_of(model, sagemaker=aws.client)

    assert provenance.commit_ids == ("3f786850e387550fdab836ed7e6dc881de23001b",)
    commit = provenance.commits[0]
    assert commit.repository == event["commit"]["repository"]
    assert commit.branch == "main"
    assert commit.author == "Jane Analyst <jane.analyst@bank.example>"
    assert commit.date == "2024-05-01T09:30:00+01:00"
    assert commit.message == event["commit"]["message"]

    by_uri = {d.uri: d for d in provenance.datasets}
    assert set(by_uri) == {event["datasets"][role]["uri"] for role in ("raw", "train", "validation", "test")}
    assert by_uri[RAW["uri"]].version_id == RAW["version_id"]
    assert by_uri[RAW["uri"]].relations == ("source",)
    train = event["datasets"]["train"]
    assert by_uri[train["uri"]].relations == ("training",)
    assert by_uri[train["uri"]].etag == train["etag"].strip('"')
    assert by_uri[event["datasets"]["validation"]["uri"]].relations == ("training",)
    assert by_uri[event["datasets"]["test"]["uri"]].relations == ("evaluation",)

    assert [t.training_job_arn for t in provenance.training_jobs] == [event["training_job_arn"]]
    assert provenance.training_jobs[0].hyperparameters == {
        "eta": "0.2", "max_depth": "6", "num_round": "200", "objective": "binary:logistic",
    }
    assert set(provenance.processing_job_arns) == set(event["processing_jobs"].values())
    assert [(r.step_functions_execution_arn, r.pipeline_execution_id) for r in provenance.runs] == [
        (event["step_functions_execution_arn"], "credit-risk-run1")
    ]


def test_graph_has_the_documented_associations(aws, logic):
    model = register_model(aws.client, "run1")
    result = logic.record_event(make_event(model, "run1"), sagemaker=aws.client)

    edges = aws.backend.edges()
    datasets = result.dataset_artifact_arns
    training, context = result.training_action_arn, result.run_context_arn
    assert (datasets["train"], training, "ContributedTo") in edges
    assert (datasets["validation"], training, "ContributedTo") in edges
    assert (result.commit_artifact_arn, training, "ContributedTo") in edges
    assert (training, result.model_package_artifact_arn, "Produced") in edges
    assert (datasets["test"], training, "ContributedTo") not in edges  # the holdout set is not a training input
    associated = {source for source, destination, kind in edges if destination == context and kind == "AssociatedWith"}
    assert {result.commit_artifact_arn, training, result.model_package_artifact_arn, *datasets.values()} <= associated
    assert len(associated) == 11  # commit, 4 datasets, 4 processing actions, training, model package
    # Issue #14 finding 5: the evaluate job that produced the gate metric is in the lineage.
    evaluate = next(a["ActionArn"] for a in aws.backend.actions.values() if a["ActionType"] == "ModelEvaluation")
    assert (datasets["test"], evaluate, "ContributedTo") in edges
    assert (evaluate, result.model_package_artifact_arn, "ContributedTo") in edges
    # The edge an auditor follows from the model is written last (no half-written run is visible).
    last = aws.backend.associations[-1]
    assert (last["SourceArn"], last["DestinationArn"], last["AssociationType"]) == (
        training, result.model_package_artifact_arn, "Produced",
    )


def test_models_trained_on_lists_every_model_trained_on_a_dataset(aws, logic):
    model1, model2 = register_model(aws.client, "run1"), register_model(aws.client, "run2")
    event1 = make_event(model1, "run1")
    event2 = make_event(model2, "run2")
    event2["datasets"]["train"] = event1["datasets"]["train"]  # same training data, same version

    logic.record_event(event1, sagemaker=aws.client)
    logic.record_event(event2, sagemaker=aws.client)

    shared_train = event1["datasets"]["train"]["uri"]
    assert logic.models_trained_on(shared_train, sagemaker=aws.client) == sorted([model1, model2])
    assert logic.models_trained_on(RAW["uri"], sagemaker=aws.client) == sorted([model1, model2])
    validation1 = event1["datasets"]["validation"]["uri"]
    assert logic.models_trained_on(validation1, sagemaker=aws.client) == [model1]
    assert logic.models_trained_on(event2["datasets"]["validation"]["uri"], sagemaker=aws.client) == [model2]
    # Holdout check: the test sets were only used for evaluation.
    assert logic.models_trained_on(event1["datasets"]["test"]["uri"], sagemaker=aws.client) == []
    assert logic.models_trained_on("s3://bank-ml-raw-123456789012/never-used.csv", sagemaker=aws.client) == []
    assert len(aws.backend.artifacts) == 1 + 1 + 5 + 2  # commit, raw, train + 2x(val, test), 2 models


def test_holdout_check_flags_a_test_set_later_used_for_training(aws, logic):
    model1, model2 = register_model(aws.client, "run1"), register_model(aws.client, "run2")
    event1 = make_event(model1, "run1")
    event2 = make_event(model2, "run2")
    event2["datasets"]["train"] = event1["datasets"]["test"]  # leak: run 1's holdout trains run 2

    logic.record_event(event1, sagemaker=aws.client)
    logic.record_event(event2, sagemaker=aws.client)

    assert logic.models_trained_on(event1["datasets"]["test"]["uri"], sagemaker=aws.client) == [model2]


def test_new_version_of_the_same_uri_is_a_distinct_artifact(aws, logic):
    model1, model2 = register_model(aws.client, "run1"), register_model(aws.client, "run2")
    event1 = make_event(model1, "run1")
    event2 = make_event(model2, "run2")
    event2["datasets"]["train"] = {"uri": event1["datasets"]["train"]["uri"], "version_id": "overwritten-v2"}

    logic.record_event(event1, sagemaker=aws.client)
    logic.record_event(event2, sagemaker=aws.client)

    uri = event1["datasets"]["train"]["uri"]
    assert len(aws.client.list_artifacts(SourceUri=uri)["ArtifactSummaries"]) == 2
    assert logic.models_trained_on(uri, sagemaker=aws.client) == sorted([model1, model2])
    assert logic.models_trained_on(uri, sagemaker=aws.client, version="overwritten-v2") == [model2]
    first_etag = event1["datasets"]["train"]["etag"]
    assert logic.models_trained_on(uri, sagemaker=aws.client, version=first_etag.strip('"')) == [model1]


def test_recording_the_same_run_twice_creates_no_duplicates(aws, logic):
    model = register_model(aws.client, "run1")
    event = make_event(model, "run1")

    first = logic.record_event(event, sagemaker=aws.client)
    before = aws.backend.counts()
    second = logic.record_event(event, sagemaker=aws.client)

    assert aws.backend.counts() == before
    # 5 actions: preprocess, evaluate, explain, bias, training (issue #14 finding 5)
    assert before == {"artifacts": 6, "contexts": 1, "actions": 5, "associations": 26}
    assert (second.entities_created, second.associations_added) == (0, 0)
    assert (second.entities_reused, second.associations_existing) == (12, 26)
    assert second.run_context_arn == first.run_context_arn
    assert second.model_package_artifact_arn == first.model_package_artifact_arn
    assert second.dataset_artifact_arns == first.dataset_artifact_arns
    assert logic.provenance_of(model, sagemaker=aws.client).commit_ids == (event["commit"]["id"],)


def test_concurrent_writer_races_are_treated_as_existing_entities(aws, logic):
    model = register_model(aws.client, "run1")
    event = make_event(model, "run1")
    logic.record_event(event, sagemaker=aws.client)
    before = aws.backend.counts()

    # Another invocation "won" every write: lookups miss, creates report "already exists".
    aws.backend.hide_associations_from_list = True
    aws.backend.stale_describe_once = set(aws.backend.actions)
    calls_before = len(aws.backend.calls)
    again = logic.record_event(event, sagemaker=aws.client)

    assert aws.backend.counts() == before
    assert (again.entities_created, again.associations_added) == (0, 0)
    assert again.associations_existing == 26
    attempted = [operation for operation, _ in aws.backend.calls[calls_before:]]
    assert attempted.count("CreateAction") == 5  # each rejected as "already exists"
    assert attempted.count("AddAssociation") == 26


def test_existing_artifacts_with_the_same_source_uri_are_reused(aws, logic):
    model = register_model(aws.client, "run1")
    event = make_event(model, "run1")
    train = event["datasets"]["train"]
    # e.g. created by an earlier recorder or by SageMaker itself for the model package
    existing_train = aws.client.create_artifact(
        Source={
            "SourceUri": train["uri"],
            "SourceTypes": [{"SourceIdType": "S3Version", "Value": train["version_id"]}],
        },
        ArtifactType="DataSet",
    )["ArtifactArn"]
    existing_model = aws.client.create_artifact(Source={"SourceUri": model}, ArtifactType="ModelPackage")["ArtifactArn"]

    result = logic.record_event(event, sagemaker=aws.client)

    assert result.dataset_artifact_arns["train"] == existing_train
    assert result.model_package_artifact_arn == existing_model
    assert len(aws.client.list_artifacts(SourceUri=train["uri"])["ArtifactSummaries"]) == 1
    assert len(aws.client.list_artifacts(SourceUri=model)["ArtifactSummaries"]) == 1
    assert logic.models_trained_on(train["uri"], sagemaker=aws.client) == [model]


@pytest.mark.parametrize("missing", ["id", "repository"])
def test_missing_commit_field_is_a_clear_error_and_nothing_is_written(aws, logic, missing):
    event = make_event(register_model(aws.client, "run1"), "run1")
    del event["commit"][missing]

    with pytest.raises(logic.InvalidLineageEventError) as raised:
        logic.record_event(event, sagemaker=aws.client)

    message = str(raised.value)
    assert f"missing required field 'commit.{missing}'" in message
    assert "the training workflow must pass" in message
    assert "nothing was recorded" in message
    assert raised.value.fields == (f"commit.{missing}",)
    assert aws.backend.calls == []  # not even a read
    assert aws.backend.counts() == {"artifacts": 0, "contexts": 0, "actions": 0, "associations": 0}


def test_invalid_event_lists_every_problem(logic):
    event = make_event("arn:aws:sagemaker:eu-west-2:123456789012:model-package/credit-risk/1", "run1")
    event["commit"]["id"] = "3f78685"  # abbreviated SHA
    event["commit"]["date"] = "yesterday"
    del event["datasets"]["test"]["version_id"], event["datasets"]["test"]["etag"]
    event["processing_jobs"]["bias"] = "arn:aws:sagemaker:eu-west-2:123456789012:training-job/not-a-processing-job"
    del event["step_functions_execution_arn"]
    event["comit"] = {}

    with pytest.raises(logic.InvalidLineageEventError) as raised:
        logic.parse_run_event(event)

    assert set(raised.value.fields) == {
        "comit",
        "commit.id",
        "commit.date",
        "datasets.test.version_id",
        "processing_jobs.bias",
        "step_functions_execution_arn",
    }
    assert "S3 object version id (VersionId) of the test dataset" in str(raised.value)
    with pytest.raises(logic.InvalidLineageEventError, match="expected a JSON object"):
        logic.parse_run_event(["not", "an", "object"])


def test_unknown_model_package_is_rejected_before_any_write(aws, logic):
    event = make_event(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/credit-risk/99", "run1")

    with pytest.raises(logic.InvalidLineageEventError) as raised:
        logic.record_event(event, sagemaker=aws.client)

    assert raised.value.fields == ("model_package_arn",)
    assert "does not exist" in str(raised.value)
    assert aws.backend.mutations() == []


def test_same_execution_with_different_content_is_a_conflict(aws, logic):
    model = register_model(aws.client, "run1")
    event = make_event(model, "run1")
    logic.record_event(event, sagemaker=aws.client)
    before = aws.backend.counts()
    tampered = make_event(model, "run1")
    tampered["commit"]["id"] = "0" * 40

    with pytest.raises(logic.LineageConflictError, match="already recorded"):
        logic.record_event(tampered, sagemaker=aws.client)

    assert aws.backend.counts() == before


def test_fake_backend_rejects_requests_the_real_api_would_reject(aws):
    # Guards the fake itself: an entity name the service model forbids must fail the test.
    with pytest.raises(AssertionError, match="does not match"):
        aws.client.create_context(ContextName="not valid!", Source={"SourceUri": "x"}, ContextType="t")
    with pytest.raises(AssertionError, match="entries"):
        aws.client.create_action(
            ActionName="a", Source={"SourceUri": "x"}, ActionType="t", Properties={str(i): "v" for i in range(31)}
        )
    assert aws.backend.counts()["contexts"] == 0


@pytest.fixture
def handler_module(aws, monkeypatch):
    import lineage_recorder_handler

    monkeypatch.setattr(lineage_recorder_handler, "_sagemaker_client", lambda: aws.client)
    # The Powertools handler keeps the stdout it saw at import; capture its records here instead.
    logs = io.StringIO()
    monkeypatch.setattr(lineage_recorder_handler.logger.registered_handler, "stream", logs)
    lineage_recorder_handler.captured_logs = logs
    return lineage_recorder_handler


def log_records(handler_module: Any) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in handler_module.captured_logs.getvalue().splitlines() if line.strip()]
    handler_module.captured_logs.seek(0)
    handler_module.captured_logs.truncate()
    return records


def test_handler_end_to_end_with_realistic_event(aws, logic, handler_module, capsys):
    model = register_model(aws.client, "run7")
    event = json.loads(json.dumps(make_event(model, "run7")))  # what Step Functions delivers

    response = handler_module.handler(event, FakeLambdaContext())
    records = log_records(handler_module)

    assert response["run_context_arn"].startswith(f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:context/training-run-run7-")
    assert response["entities_created"] == 12 and response["associations_added"] == 26
    json.dumps(response)  # serialisable as the state output
    assert logic.provenance_of(model, sagemaker=aws.client).commit_ids == (event["commit"]["id"],)

    blobs = emitted_metrics(capsys.readouterr().out)
    assert len(blobs) == 1
    blob = blobs[0]
    directive = blob["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "MlPlatformTest"
    assert {m["Name"] for m in directive["Metrics"]} == {
        "LineageRecorded", "LineageEntitiesCreated", "LineageAssociationsAdded", "LineageDuplicatesRemoved",
    }
    assert blob["LineageRecorded"] == [1.0]
    assert blob["LineageAssociationsAdded"] == [26.0]
    assert blob["service"] == "ml-platform-test"
    [recorded] = [r for r in records if r["message"] == "Lineage recorded"]
    assert recorded["model_package_arn"] == model and recorded["associations_added"] == 26


def test_handler_rejects_invalid_event_and_emits_rejected_metric(aws, handler_module, capsys):
    # A successful invocation first: its log keys must not leak into the next one (warm Lambda).
    handler_module.handler(make_event(register_model(aws.client, "run7"), "run7"), FakeLambdaContext())
    capsys.readouterr()
    assert "run7" in json.dumps(log_records(handler_module))
    calls_before = len(aws.backend.calls)
    event = make_event(register_model(aws.client, "run8"), "run8")
    del event["commit"]["repository"]

    with pytest.raises(handler_module.logic.InvalidLineageEventError, match="commit.repository"):
        handler_module.handler(event, FakeLambdaContext())

    blobs = emitted_metrics(capsys.readouterr().out)
    assert [m["Name"] for b in blobs for m in b["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == ["LineageRejected"]
    records = log_records(handler_module)
    [rejected] = [r for r in records if r["message"] == "Lineage event rejected"]
    assert rejected["level"] == "ERROR" and rejected["fields"] == ["commit.repository"]
    assert "Jane Analyst" not in json.dumps(records)  # commit author (personal data) is not logged
    assert "run7" not in json.dumps(records)  # no keys left over from the previous invocation
    assert len(aws.backend.calls) == calls_before


def test_a_two_container_package_records_the_model_container_not_the_drop_container(aws, logic):
    """The serving inference pipeline's first container only drops the protected attributes:
    the model artifact in the lineage is the last container's (XGBoost) archive."""
    model = aws.client.create_model_package(
        ModelPackageGroupName="credit-risk", ModelApprovalStatus="PendingManualApproval",
        InferenceSpecification={
            "Containers": [
                {"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                 "ModelDataUrl": f"s3://bank-ml-processed-{ACCOUNT}/runs/run2/serving/model.tar.gz",
                 "Environment": {"SAGEMAKER_PROGRAM": "serve_drop.py"}},
                {"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgboost:1.7-1",
                 "ModelDataUrl": f"s3://bank-ml-models-{ACCOUNT}/credit-risk/run2/model.tar.gz"},
            ],
            "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    result = logic.record_event(make_event(model, "run2"), sagemaker=aws.client)
    properties = aws.backend.artifacts[result.model_package_artifact_arn]["Properties"]
    assert properties["model_data_url"] == f"s3://bank-ml-models-{ACCOUNT}/credit-risk/run2/model.tar.gz"
    assert properties["image"].endswith("/xgboost:1.7-1")
