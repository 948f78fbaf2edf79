"""Record and query SageMaker ML Lineage Tracking entities for one training run.

Plain Python: no Powertools, no environment variables; the boto3 ``sagemaker`` client is passed
in. Used by ``lineage_recorder_handler`` (the last state of the Step Functions training workflow),
by the tests, and by auditors (``provenance_of`` / ``models_trained_on``).

Traceability and reproducibility, as in the AWS whitepaper "ML Best Practices in Financial
Services": from a deployed model (its model package ARN) an auditor reaches the exact code commit
and the exact dataset versions; from a dataset an auditor lists every model trained on it, which
is the holdout-set check (a test set must never have been used to train any model).

Input event (schema version "1")
================================
One JSON object, exactly these keys (unknown keys are rejected, so a typo is never dropped):

``schema_version``                optional, ``"1"`` if present
``commit``                        required object, every key required:
    ``id``                        full git SHA, 40 or 64 hex characters (abbreviated SHAs rejected)
    ``repository``                clone URL or name, 1-1024 characters
    ``branch``                    1-256 characters, no whitespace
    ``author``                    non-empty, at most 2500 characters
    ``date``                      ISO-8601 timestamp with a timezone, e.g. ``2024-05-01T12:00:00Z``
    ``message``                   string, may be empty (kept up to 2500 characters + its SHA-256)
``datasets``                      required object with the keys ``raw``, ``train``, ``validation``,
                                  ``test``; each one ``{"uri": "s3://bucket/key",
                                  "version_id": "<S3 VersionId>", "etag": "<S3 ETag>"}`` where
                                  ``uri`` is required and at least one of ``version_id`` / ``etag``
``processing_jobs``               required object: ``preprocess``, ``evaluate`` (the job whose
                                  metrics the quality gate read), ``explain``, ``bias``, each the
                                  ARN of a SageMaker processing job
``training_job_arn``              required, ARN of the SageMaker training job
``hyperparameters``               required object (may be empty), string/number/bool values
``model_package_arn``             required, ARN of the model package registered by the run; it
                                  must exist (checked with DescribeModelPackage before any write)
``pipeline_execution_id``         required, 1-256 characters, the platform's run id
``step_functions_execution_arn``  required, ``$$.Execution.Id`` of the (standard) workflow

Any problem raises :class:`InvalidLineageEventError` *before* the first SageMaker write; its
message names every offending field and says what the workflow must pass.

Lineage graph written per run
=============================
Artifacts (reused when one with the same ``SourceUri`` and a matching version already exists, as
found by ``ListArtifacts(SourceUri=...)``; a new version of the same URI is a new artifact):
  * one ``DataSet`` artifact per dataset (SourceTypes ``S3Version`` / ``S3ETag``),
  * one ``GitCommit`` artifact (SourceUri ``<repository>#commit=<sha>``, SourceType ``Custom``),
  * one artifact for the model package (SourceUri = the model package ARN; an artifact SageMaker
    created for the package is reused).
Actions (deterministic names, one per job, SourceUri = job ARN): ``DataPreprocessing``,
``ModelExplainability``, ``BiasAnalysis``, ``ModelTraining``.
Context (deterministic name from the execution ARN): ``TrainingRun``, SourceUri = execution ARN.
Associations::

    commit --ContributedTo--> preprocess, training
    raw    --ContributedTo--> preprocess --Produced--> train, validation, test
    train, validation --ContributedTo--> training
    test   --ContributedTo--> explain, bias --ContributedTo--> model package
    training --Produced--> model package
    every entity above --AssociatedWith--> run context

The edges that point at the model package are written last, so a walk that starts from the model
never sees a half-written run. Recording the same run again creates nothing new; recording the
same execution with different content raises :class:`LineageConflictError` before any write.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError as BotoConnectionError,
    HTTPClientError,
    ReadTimeoutError,
    ResponseStreamingError,
)

SCHEMA_VERSION = "1"

ARTIFACT_TYPE_DATASET = "DataSet"
ARTIFACT_TYPE_COMMIT = "GitCommit"
ARTIFACT_TYPE_MODEL_PACKAGE = "ModelPackage"
CONTEXT_TYPE_RUN = "TrainingRun"
ACTION_TYPE_PREPROCESS = "DataPreprocessing"
ACTION_TYPE_EXPLAIN = "ModelExplainability"
ACTION_TYPE_BIAS = "BiasAnalysis"
ACTION_TYPE_TRAINING = "ModelTraining"
ACTION_TYPE_EVALUATE = "ModelEvaluation"

CONTRIBUTED_TO = "ContributedTo"
PRODUCED = "Produced"
ASSOCIATED_WITH = "AssociatedWith"

DATASET_ROLES = ("raw", "train", "validation", "test")
PROCESSING_STEPS = ("preprocess", "evaluate", "explain", "bias")
_STEP_ACTION_TYPE = {
    "preprocess": ACTION_TYPE_PREPROCESS,
    "evaluate": ACTION_TYPE_EVALUATE,
    "explain": ACTION_TYPE_EXPLAIN,
    "bias": ACTION_TYPE_BIAS,
}

# How a dataset relates to a model, by the type of action it fed (see provenance_of).
RELATION_TRAINING = "training"  # input of the training job (train, validation)
RELATION_SOURCE = "source"  # input of a job that produced training data (raw)
RELATION_EVALUATION = "evaluation"  # input of an explainability / bias job (test)
_RELATION_BY_ACTION_TYPE = {
    ACTION_TYPE_TRAINING: RELATION_TRAINING,
    ACTION_TYPE_PREPROCESS: RELATION_SOURCE,
    ACTION_TYPE_EVALUATE: RELATION_EVALUATION,
    ACTION_TYPE_EXPLAIN: RELATION_EVALUATION,
    ACTION_TYPE_BIAS: RELATION_EVALUATION,
}

# The run context's recording status: written IN_PROGRESS first, COMPLETE last (the marker).
STATUS_PROPERTY = "recording_status"
STATUS_IN_PROGRESS = "IN_PROGRESS"
STATUS_COMPLETE = "COMPLETE"

_PAGE_SIZE = 100  # ListArtifacts / ListAssociations maximum
_MAX_WALK_NODES = 5000  # safety bound for graph walks
_PROPERTY_MAX = 2500  # LineageEntityParameters value length

_PARTITION = r"arn:aws[a-z\-]*"
_REGION_ACCOUNT = r"[a-z0-9\-]+:[0-9]{12}"
_JOB_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
_PROCESSING_JOB_ARN = re.compile(
    rf"{_PARTITION}:sagemaker:{_REGION_ACCOUNT}:processing-job/{_JOB_NAME}"
)
_TRAINING_JOB_ARN = re.compile(
    rf"{_PARTITION}:sagemaker:{_REGION_ACCOUNT}:training-job/{_JOB_NAME}"
)
_MODEL_PACKAGE_ARN = re.compile(
    rf"{_PARTITION}:sagemaker:{_REGION_ACCOUNT}:model-package/{_JOB_NAME}(/[0-9]{{1,9}})?"
)
_SFN_NAME = r"[^\s<>{}\[\]?*\"#%\\^|~`$&,;:/]{1,80}"
_EXECUTION_ARN = re.compile(
    rf"{_PARTITION}:states:{_REGION_ACCOUNT}:execution:{_SFN_NAME}:{_SFN_NAME}"
)
_COMMIT_SHA = re.compile(r"[0-9a-fA-F]{40}([0-9a-fA-F]{24})?")
# Bucket names per the S3 naming rules; a key is any UTF-8 text without control characters
# (spaces included: "credit data/2024 04.csv" is a valid key).
_S3_URI = re.compile(r"s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]/[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f]")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ETAG = re.compile(r"[0-9a-fA-F]{32}(-[0-9]{1,5})?")
_NO_WHITESPACE = re.compile(r"\S+")
_SINGLE_LINE = re.compile(r"[^\x00-\x1f\x7f]+")  # lineage property values must match '.*'

# What the workflow must pass, quoted in validation errors. "<role>" / "<step>" are placeholders.
_FIELD_HELP = {
    "commit": "an object with the git commit the training code was built from "
    "(id, repository, branch, author, date, message)",
    "commit.id": "the full git commit SHA (40 or 64 hexadecimal characters) of the training code",
    "commit.repository": "the source repository (clone URL or name) that contains the commit",
    "commit.branch": "the branch the commit was built from",
    "commit.author": "the commit author as recorded by git",
    "commit.date": (
        "the commit date as an ISO-8601 timestamp with a timezone, e.g. 2024-05-01T12:00:00Z"
    ),
    "commit.message": "the commit message (a string, may be empty)",
    "datasets": "an object with the raw, train, validation and test datasets",
    "datasets.<role>": "an object {uri, version_id and/or etag} for the <role> dataset",
    "datasets.<role>.uri": "the s3://bucket/key URI of the <role> dataset",
    "datasets.<role>.version_id": "the S3 object version id (VersionId) of the <role> dataset, "
    "or its 'etag'",
    "datasets.<role>.etag": (
        "the S3 ETag of the <role> dataset (32 hex characters, optional -N suffix)"
    ),
    "datasets.<role>.sha256": "the SHA-256 (64 lower-case hex) of the <role> bytes a job read",
    "processing_jobs": (
        "an object with the preprocess, evaluate, explain and bias processing job ARNs"
    ),
    "processing_jobs.<step>": "the ARN of the SageMaker processing job that ran the <step> step",
    "training_job_arn": "the ARN of the SageMaker training job",
    "hyperparameters": "an object with the training job's hyperparameters (string, number or "
    "boolean values; may be empty)",
    "model_package_arn": "the ARN of the model package this run registered (it must exist)",
    "pipeline_execution_id": "the platform's pipeline execution id (1-256 characters)",
    "step_functions_execution_arn": "the ARN of this Step Functions execution ($$.Execution.Id)",
    "schema_version": f'the event schema version, "{SCHEMA_VERSION}"',
}


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class LineageError(Exception):
    """Base class of the errors raised by this module."""


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field of the event (``field`` is a dotted path)."""

    field: str
    problem: str


class InvalidLineageEventError(LineageError, ValueError):
    """The event does not match the schema; nothing was written to SageMaker."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        self.problems = tuple(problems)
        details = "; ".join(p.problem for p in self.problems)
        super().__init__(
            f"Lineage event rejected, nothing was recorded: {details}. "
            "See docs/lineage.md for the event schema."
        )

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(p.field for p in self.problems)


class LineageConflictError(LineageError):
    """This execution was already recorded with different content; nothing new was written."""


class LineageNotFoundError(LineageError, LookupError):
    """No lineage was recorded for the requested entity."""


class RawDataMismatchError(LineageError):
    """The bytes the preprocessing job read (their SHA-256) are not the raw object version
    recorded before preprocessing: the object was overwritten during the run, so the run's
    data provenance is unknown. Nothing is written; not retried (a retry cannot fix it)."""


class LineageTransientError(LineageError):
    """A transient AWS error (throttling past the SDK's attempts, 5xx, a dropped connection)
    interrupted recording. Retried by the workflow (listed in RecordLineage's Retry): recording
    is idempotent and resumes where it stopped; the run context stays IN_PROGRESS until then."""


class LineageIncompleteError(LineageError):
    """An audit query touched a run whose recording has not completed (no completion marker):
    answering from the half-written graph could be false, so the query says so instead.
    ``execution_arns`` names the runs; re-running the workflow's RecordLineage completes them."""

    def __init__(self, message: str, execution_arns: tuple[str, ...]) -> None:
        super().__init__(message)
        self.execution_arns = execution_arns


_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "BandwidthLimitExceeded",
    }
)


def is_transient(error: BaseException) -> bool:
    """True for errors a later attempt can succeed past: throttling, 5xx, connection faults."""
    if isinstance(error, ClientError):
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return _error_code(error) in _TRANSIENT_CODES or (isinstance(status, int) and status >= 500)
    return isinstance(
        error, (BotoConnectionError, HTTPClientError, ReadTimeoutError, ResponseStreamingError)
    )


# --------------------------------------------------------------------------------------------
# Parsed event
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Commit:
    id: str
    repository: str
    branch: str
    author: str
    date: str
    message: str

    @property
    def source_uri(self) -> str:
        return f"{self.repository}#commit={self.id}"


@dataclass(frozen=True)
class DatasetVersion:
    uri: str
    version_id: str | None = None
    etag: str | None = None
    sha256: str | None = None  # SHA-256 of the bytes the preprocessing job read (raw data)

    @property
    def source_types(self) -> list[dict[str, str]]:
        types = []
        if self.version_id is not None:
            types.append({"SourceIdType": "S3Version", "Value": self.version_id})
        if self.etag is not None:
            types.append({"SourceIdType": "S3ETag", "Value": self.etag})
        return types

    def describe(self) -> str:
        parts = [self.uri]
        if self.version_id is not None:
            parts.append(f"versionId={self.version_id}")
        if self.etag is not None:
            parts.append(f"etag={self.etag}")
        if self.sha256 is not None:
            parts.append(f"sha256={self.sha256}")
        return " ".join(parts)


@dataclass(frozen=True)
class TrainingRun:
    commit: Commit
    datasets: dict[str, DatasetVersion]
    processing_jobs: dict[str, str]
    training_job_arn: str
    hyperparameters: dict[str, str]
    model_package_arn: str
    pipeline_execution_id: str
    step_functions_execution_arn: str

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the canonical run content; stored on the run context to detect conflicts."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class _Problems:
    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    @staticmethod
    def _help(path: str) -> str:
        parts = path.split(".")
        if len(parts) >= 2 and parts[0] == "datasets":
            key, placeholder = ".".join(["datasets", "<role>", *parts[2:]]), parts[1]
            return _FIELD_HELP.get(key, "").replace("<role>", placeholder)
        if len(parts) == 2 and parts[0] == "processing_jobs":
            return _FIELD_HELP["processing_jobs.<step>"].replace("<step>", parts[1])
        return _FIELD_HELP.get(path, "")

    def missing(self, path: str) -> None:
        self.items.append(
            FieldProblem(
                path,
                f"missing required field '{path}': the training workflow must pass "
                f"{self._help(path)}",
            )
        )

    def invalid(self, path: str, reason: str) -> None:
        self.items.append(
            FieldProblem(
                path,
                f"invalid field '{path}' ({reason}): the training workflow must pass "
                f"{self._help(path)}",
            )
        )

    def unknown(self, path: str, keys: set[str]) -> None:
        where = f"'{path}'" if path else "the event"
        for key in sorted(keys):
            full = f"{path}.{key}" if path else key
            self.items.append(
                FieldProblem(full, f"unknown field '{full}' in {where} (check the spelling)")
            )


def _object(
    problems: _Problems, parent: Mapping[str, Any], key: str, path: str
) -> Mapping[str, Any] | None:
    if key not in parent or parent[key] is None:
        problems.missing(path)
        return None
    value = parent[key]
    if not isinstance(value, Mapping):
        problems.invalid(path, f"expected an object, got {type(value).__name__}")
        return None
    return value


def _check_keys(problems: _Problems, obj: Mapping[str, Any], path: str, allowed: set[str]) -> None:
    extra = {str(k) for k in obj} - allowed
    if extra:
        problems.unknown(path, extra)


def _string(
    problems: _Problems,
    parent: Mapping[str, Any],
    key: str,
    path: str,
    *,
    pattern: re.Pattern[str] | None = None,
    max_len: int = 256,
    allow_empty: bool = False,
    required: bool = True,
    what: str = "",
    echo: bool = True,
) -> str | None:
    if key not in parent or parent[key] is None:
        if required:
            problems.missing(path)
        return None
    value = parent[key]
    if not isinstance(value, str):
        problems.invalid(path, f"expected a string, got {type(value).__name__}")
        return None
    if not allow_empty and not value.strip():
        problems.missing(path)
        return None
    if len(value) > max_len:
        problems.invalid(path, f"longer than {max_len} characters")
        return None
    if pattern is not None and not pattern.fullmatch(value):
        shown = f"{value!r}" if echo and len(value) <= 120 else "the value"
        problems.invalid(path, f"{shown} is not {what or 'valid'}")
        return None
    return value


def parse_run_event(event: Any) -> TrainingRun:
    """Validate the workflow's event and return the run; raise InvalidLineageEventError."""
    problems = _Problems()
    if not isinstance(event, Mapping):
        problems.invalid("<event>", f"expected a JSON object, got {type(event).__name__}")
        raise InvalidLineageEventError(problems.items)

    top_level = {
        "schema_version",
        "commit",
        "datasets",
        "processing_jobs",
        "training_job_arn",
        "hyperparameters",
        "model_package_arn",
        "pipeline_execution_id",
        "step_functions_execution_arn",
    }
    _check_keys(problems, event, "", top_level)
    if "schema_version" in event and event["schema_version"] != SCHEMA_VERSION:
        problems.invalid("schema_version", f"unsupported version {event['schema_version']!r}")

    commit = _parse_commit(problems, event)
    datasets = _parse_datasets(problems, event)
    processing_jobs = _parse_processing_jobs(problems, event)
    training_job_arn = _string(
        problems,
        event,
        "training_job_arn",
        "training_job_arn",
        pattern=_TRAINING_JOB_ARN,
        what="a SageMaker training job ARN",
    )
    hyperparameters = _parse_hyperparameters(problems, event)
    model_package_arn = _string(
        problems,
        event,
        "model_package_arn",
        "model_package_arn",
        pattern=_MODEL_PACKAGE_ARN,
        what="a SageMaker model package ARN",
    )
    pipeline_execution_id = _string(
        problems,
        event,
        "pipeline_execution_id",
        "pipeline_execution_id",
        pattern=_NO_WHITESPACE,
        what="free of whitespace",
    )
    execution_arn = _string(
        problems,
        event,
        "step_functions_execution_arn",
        "step_functions_execution_arn",
        pattern=_EXECUTION_ARN,
        what="a Step Functions (standard workflow) execution ARN",
    )

    if problems.items:
        raise InvalidLineageEventError(problems.items)
    return TrainingRun(
        commit=commit,  # type: ignore[arg-type]
        datasets=datasets,  # type: ignore[arg-type]
        processing_jobs=processing_jobs,  # type: ignore[arg-type]
        training_job_arn=training_job_arn,  # type: ignore[arg-type]
        hyperparameters=hyperparameters,  # type: ignore[arg-type]
        model_package_arn=model_package_arn,  # type: ignore[arg-type]
        pipeline_execution_id=pipeline_execution_id,  # type: ignore[arg-type]
        step_functions_execution_arn=execution_arn,  # type: ignore[arg-type]
    )


def _parse_commit(problems: _Problems, event: Mapping[str, Any]) -> Commit | None:
    obj = _object(problems, event, "commit", "commit")
    if obj is None:
        return None
    fields = ("id", "repository", "branch", "author", "date", "message")
    _check_keys(problems, obj, "commit", set(fields))
    before = len(problems.items)
    commit_id = _string(
        problems, obj, "id", "commit.id", pattern=_COMMIT_SHA, what="a full git commit SHA"
    )
    repository = _string(
        problems,
        obj,
        "repository",
        "commit.repository",
        max_len=1024,
        pattern=_SINGLE_LINE,
        what="a single line",
    )
    branch = _string(
        problems, obj, "branch", "commit.branch", pattern=_NO_WHITESPACE, what="a branch name"
    )
    author = _string(
        problems,
        obj,
        "author",
        "commit.author",
        max_len=_PROPERTY_MAX,
        pattern=_SINGLE_LINE,
        what="a single line",
        echo=False,  # personal data
    )
    date = _string(problems, obj, "date", "commit.date", max_len=64)
    if date is not None:
        try:
            parsed = datetime.fromisoformat(date.replace("Z", "+00:00"))
        except ValueError:
            problems.invalid("commit.date", f"{date!r} is not an ISO-8601 timestamp")
        else:
            if parsed.tzinfo is None:
                problems.invalid("commit.date", f"{date!r} has no timezone")
    message = _string(
        problems, obj, "message", "commit.message", allow_empty=True, max_len=1_000_000
    )
    if len(problems.items) != before:
        return None
    return Commit(commit_id.lower(), repository, branch, author, date, message)  # type: ignore[union-attr,arg-type]


def _parse_datasets(
    problems: _Problems, event: Mapping[str, Any]
) -> dict[str, DatasetVersion] | None:
    obj = _object(problems, event, "datasets", "datasets")
    if obj is None:
        return None
    _check_keys(problems, obj, "datasets", set(DATASET_ROLES))
    result: dict[str, DatasetVersion] = {}
    for role in DATASET_ROLES:
        path = f"datasets.{role}"
        item = _object(problems, obj, role, path)
        if item is None:
            continue
        _check_keys(problems, item, path, {"uri", "version_id", "etag", "sha256"})
        uri = _string(
            problems,
            item,
            "uri",
            f"{path}.uri",
            pattern=_S3_URI,
            max_len=2048,
            what="an s3://bucket/key URI",
        )
        version_id = _string(
            problems,
            item,
            "version_id",
            f"{path}.version_id",
            required=False,
            pattern=_NO_WHITESPACE,
            what="an S3 version id",
        )
        etag = _string(problems, item, "etag", f"{path}.etag", required=False, max_len=64)
        if etag is not None:
            etag = etag.strip().strip('"').lower()
            if not _ETAG.fullmatch(etag):
                problems.invalid(f"{path}.etag", f"{item['etag']!r} is not an S3 ETag")
                etag = None
        sha256 = _string(
            problems,
            item,
            "sha256",
            f"{path}.sha256",
            required=False,
            pattern=_SHA256,
            max_len=64,
            what="a lower-case hex SHA-256",
        )
        if item.get("version_id") is None and item.get("etag") is None:
            problems.missing(f"{path}.version_id")
        if uri is not None and (version_id is not None or etag is not None):
            result[role] = DatasetVersion(uri=uri, version_id=version_id, etag=etag, sha256=sha256)
    return result if len(result) == len(DATASET_ROLES) else None


def _parse_processing_jobs(problems: _Problems, event: Mapping[str, Any]) -> dict[str, str] | None:
    obj = _object(problems, event, "processing_jobs", "processing_jobs")
    if obj is None:
        return None
    _check_keys(problems, obj, "processing_jobs", set(PROCESSING_STEPS))
    result = {}
    for step in PROCESSING_STEPS:
        arn = _string(
            problems,
            obj,
            step,
            f"processing_jobs.{step}",
            pattern=_PROCESSING_JOB_ARN,
            what="a SageMaker processing job ARN",
        )
        if arn is not None:
            result[step] = arn
    return result if len(result) == len(PROCESSING_STEPS) else None


def _parse_hyperparameters(problems: _Problems, event: Mapping[str, Any]) -> dict[str, str] | None:
    obj = _object(problems, event, "hyperparameters", "hyperparameters")
    if obj is None:
        return None
    result = {}
    for key, value in obj.items():
        path = f"hyperparameters.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= 256:
            problems.invalid(path, "names must be 1-256 characters")
        elif isinstance(value, bool):
            result[key] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            result[key] = str(value)
        else:
            problems.invalid(
                path, f"expected a string, number or boolean, got {type(value).__name__}"
            )
    return result


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------


@dataclass
class RecordResult:
    run_context_arn: str = ""
    training_action_arn: str = ""
    model_package_artifact_arn: str = ""
    commit_artifact_arn: str = ""
    dataset_artifact_arns: dict[str, str] = field(default_factory=dict)
    entities_created: int = 0
    entities_reused: int = 0
    associations_added: int = 0
    associations_existing: int = 0
    duplicates_removed: int = 0
    complete: bool = False
    raw_data_check: str = "not checked (no sha256 in the event)"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _error_message(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Message", ""))


def _already_exists(error: ClientError) -> bool:
    # The API reference documents no error for duplicates; both shapes seen in SageMaker are
    # accepted: ConflictException, or ValidationException "... already exists".
    code = _error_code(error)
    return code == "ConflictException" or (
        code == "ValidationException" and "already exist" in _error_message(error).lower()
    )


def _not_found(error: ClientError) -> bool:
    return _error_code(error) in ("ResourceNotFound", "ResourceNotFoundException")


def _paginate(
    call: Callable[..., dict[str, Any]], key: str, **params: Any
) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        request = dict(params, MaxResults=_PAGE_SIZE)
        if token:
            request["NextToken"] = token
        page = call(**request)
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _entity_name(prefix: str, readable: str, key: str) -> str:
    """A valid, deterministic lineage entity name (<= 120 chars, letters/digits/hyphens)."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    slug = re.sub(r"[^A-Za-z0-9]+", "-", readable).strip("-")
    budget = 120 - len(prefix) - len(digest) - 2
    slug = slug[:budget].strip("-")
    return "-".join(part for part in (prefix, slug, digest) if part)


def _versions_match(existing: list[dict[str, str]] | None, wanted: list[dict[str, str]]) -> bool:
    """True if an existing artifact's SourceTypes describe the same version as ``wanted``."""
    if not wanted:
        return True
    have = {t["SourceIdType"]: t["Value"] for t in existing or []}
    want = {t["SourceIdType"]: t["Value"] for t in wanted}
    common = have.keys() & want.keys()
    return bool(common) and all(have[k] == want[k] for k in common)


def _oldest_first(summary: Mapping[str, Any]) -> tuple[float, str]:
    """Sort key: creation time, then ARN (a total order every concurrent invocation shares)."""
    created = summary.get("CreationTime")
    return (
        created.timestamp() if isinstance(created, datetime) else float("inf"),
        summary["ArtifactArn"],
    )


def _escape(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _unescape(text: str) -> str:
    try:
        return json.loads(f'"{text}"')
    except ValueError:  # cut by truncation
        return text


def _limit(text: str) -> str:
    return text if len(text) <= _PROPERTY_MAX else text[: _PROPERTY_MAX - 14] + " …[truncated]"


def _job_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


class _Writer:
    """Get-or-create for lineage entities and idempotent associations, with counters."""

    def __init__(self, sagemaker: Any, result: RecordResult) -> None:
        self.sm = sagemaker
        self.result = result

    def artifact(
        self,
        *,
        name: str,
        uri: str,
        artifact_type: str,
        source_types: list[dict[str, str]],
        properties: dict[str, str],
        metadata: dict[str, str] | None = None,
    ) -> str:
        candidates = self._same_version(uri, source_types)
        if candidates:
            candidates.sort(key=_oldest_first)
            self.result.entities_reused += 1
            return candidates[0]["ArtifactArn"]
        arn = self._create_artifact(name, uri, artifact_type, source_types, properties, metadata)
        return self._converge(arn, uri, source_types)

    def _converge(self, created: str, uri: str, source_types: list[dict[str, str]]) -> str:
        """Concurrent identical invocations may each create the artifact (SageMaker does not
        make artifact names unique). All of them then list again and agree on one canonical
        artifact (oldest, then lowest ARN); an invocation whose own artifact lost deletes it
        before any edge uses it, so the graph keeps one artifact per (URI, version)."""
        candidates = self._same_version(uri, source_types)
        if not any(c["ArtifactArn"] == created for c in candidates):
            # Not listed: not there yet (eventual consistency), or the listing missed it (a
            # deletion between two pages). Ours still counts with its own creation time: an
            # older one listed wins over it, as in every other invocation's view.
            try:
                own = self.sm.describe_artifact(ArtifactArn=created)
            except ClientError as error:
                if not _not_found(error):
                    raise
                return created  # not visible at all yet: keep ours
            candidates.append({"ArtifactArn": created, "CreationTime": own.get("CreationTime")})
        candidates.sort(key=_oldest_first)
        canonical = candidates[0]["ArtifactArn"]
        if canonical != created:
            try:
                self.sm.delete_artifact(ArtifactArn=created)
            except ClientError as error:
                if not _not_found(error):
                    raise
            self.result.entities_created -= 1
            self.result.entities_reused += 1
            self.result.duplicates_removed += 1
        return canonical

    def _same_version(self, uri: str, source_types: list[dict[str, str]]) -> list[dict[str, Any]]:
        """The artifacts of ``uri`` at this version, listed oldest first. The order matters
        while other invocations delete the duplicates they created: a page token may be a
        position, and a deletion before it shifts what the next page holds, so a listing can
        miss an artifact. Every deleted artifact is newer than one that stays (its creator
        saw that one), so the oldest is always on the first page ahead of any deletion: every
        invocation that lists it agrees on it. Listed newest first, the oldest could be the
        one missed, and two invocations then kept their own (tests/lambdas
        test_concurrent_identical_invocations_leave_one_graph failed about 1 run in 20 when
        threads switched often)."""
        return [
            summary
            for summary in _paginate(
                self.sm.list_artifacts,
                "ArtifactSummaries",
                SourceUri=uri,
                SortBy="CreationTime",
                SortOrder="Ascending",
            )
            if summary.get("Source", {}).get("SourceUri") == uri
            and _versions_match(summary.get("Source", {}).get("SourceTypes"), source_types)
        ]

    def _create_artifact(
        self,
        name: str,
        uri: str,
        artifact_type: str,
        source_types: list[dict[str, str]],
        properties: dict[str, str],
        metadata: dict[str, str] | None,
    ) -> str:
        source: dict[str, Any] = {"SourceUri": uri}
        if source_types:
            source["SourceTypes"] = source_types
        request: dict[str, Any] = {
            "ArtifactName": name,
            "Source": source,
            "ArtifactType": artifact_type,
            "Properties": properties,
        }
        if metadata:
            request["MetadataProperties"] = metadata
        arn = self.sm.create_artifact(**request)["ArtifactArn"]
        self.result.entities_created += 1
        return arn

    def context(self, *, name: str, request: dict[str, Any]) -> str:
        return self._named(
            describe=lambda: self.sm.describe_context(ContextName=name)["ContextArn"],
            create=lambda: self.sm.create_context(ContextName=name, **request)["ContextArn"],
        )

    def action(self, *, name: str, request: dict[str, Any]) -> str:
        return self._named(
            describe=lambda: self.sm.describe_action(ActionName=name)["ActionArn"],
            create=lambda: self.sm.create_action(ActionName=name, **request)["ActionArn"],
        )

    def _named(self, *, describe: Callable[[], str], create: Callable[[], str]) -> str:
        try:
            arn = describe()
        except ClientError as error:
            if not _not_found(error):
                raise
        else:
            self.result.entities_reused += 1
            return arn
        try:
            arn = create()
        except ClientError as error:
            if not _already_exists(error):
                raise
            arn = describe()  # created concurrently by another invocation
            self.result.entities_reused += 1
            return arn
        self.result.entities_created += 1
        return arn

    def associate(self, source_arn: str, destination_arn: str, association_type: str) -> None:
        existing = _paginate(
            self.sm.list_associations,
            "AssociationSummaries",
            SourceArn=source_arn,
            DestinationArn=destination_arn,
            AssociationType=association_type,
        )
        if any(True for _ in existing):
            self.result.associations_existing += 1
            return
        try:
            self.sm.add_association(
                SourceArn=source_arn,
                DestinationArn=destination_arn,
                AssociationType=association_type,
            )
        except ClientError as error:
            if not _already_exists(error):
                raise
            self.result.associations_existing += 1
            return
        self.result.associations_added += 1


def _describe_model_package(sagemaker: Any, arn: str) -> dict[str, Any]:
    try:
        return sagemaker.describe_model_package(ModelPackageName=arn)
    except ClientError as error:
        message = _error_message(error).lower()
        if _not_found(error) or (
            _error_code(error) == "ValidationException"
            and ("not found" in message or "does not exist" in message)
        ):
            problems = _Problems()
            problems.invalid(
                "model_package_arn", f"{arn} does not exist in this account and region"
            )
            raise InvalidLineageEventError(problems.items) from error
        raise


def run_context_name(execution_arn: str) -> str:
    """Deterministic name of the run context for one Step Functions execution."""
    return _entity_name("training-run", execution_arn.rsplit(":", 1)[-1], execution_arn)


def record_run(run: TrainingRun, *, sagemaker: Any, s3: Any = None) -> RecordResult:
    """Write the lineage graph of one run (idempotent). See the module docstring.

    A transient AWS error is raised as :class:`LineageTransientError` (the workflow retries
    it; the next attempt resumes); any other AWS error propagates unchanged (not retried)."""
    try:
        return _record_run(run, sagemaker=sagemaker, s3=s3)
    except (ClientError, BotoCoreError) as error:
        if is_transient(error):
            code = _error_code(error) if isinstance(error, ClientError) else type(error).__name__
            raise LineageTransientError(
                f"Transient AWS error while recording {run.step_functions_execution_arn} "
                f"({code}: {error}); the run context stays {STATUS_IN_PROGRESS} and a retry "
                "resumes the recording."
            ) from error
        raise


_HASH_CHUNK = 1 << 20


def verify_raw_version(dataset: DatasetVersion, *, s3: Any) -> str:
    """Check that ``dataset.sha256`` (what the preprocessing job read) is the SHA-256 of the
    recorded object version; returns how it was checked. S3's own full-object SHA-256 is used
    when the object has one (no read); otherwise the version is streamed and hashed."""
    if dataset.sha256 is None:
        return "not checked (no sha256 in the event)"
    if dataset.version_id is None:
        raise RawDataMismatchError(
            f"{dataset.uri}: no version id was recorded, so the SHA-256 cannot be checked "
            "against the version the run trained on (enable versioning on the raw bucket)"
        )
    bucket, _, key = dataset.uri[len("s3://") :].partition("/")
    response = s3.get_object(
        Bucket=bucket, Key=key, VersionId=dataset.version_id, ChecksumMode="ENABLED"
    )
    body = response["Body"]
    try:
        stored = response.get("ChecksumSHA256")
        if stored and response.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
            actual, how = base64.b64decode(stored).hex(), "S3 full-object SHA-256 checksum"
        else:
            digest = hashlib.sha256()
            for chunk in iter(lambda: body.read(_HASH_CHUNK), b""):
                digest.update(chunk)
            actual, how = digest.hexdigest(), "SHA-256 of the version's bytes"
    finally:
        body.close()
    if actual != dataset.sha256:
        raise RawDataMismatchError(
            f"{dataset.uri} version {dataset.version_id} has SHA-256 {actual}, but the "
            f"preprocessing job read bytes with SHA-256 {dataset.sha256}: the object changed "
            "during the run. Nothing was recorded; re-run the training on a stable version."
        )
    return how


def _record_run(run: TrainingRun, *, sagemaker: Any, s3: Any = None) -> RecordResult:
    result = RecordResult()
    writer = _Writer(sagemaker, result)
    execution_arn = run.step_functions_execution_arn
    context_name = run_context_name(execution_arn)

    # Read-only checks first: a failure here leaves nothing behind.
    raw = run.datasets["raw"]
    if raw.sha256 is not None:
        if s3 is None:
            raise ValueError("an S3 client is needed to cross-check the raw data SHA-256")
        result.raw_data_check = verify_raw_version(raw, s3=s3)
    package = _describe_model_package(sagemaker, run.model_package_arn)
    try:
        existing_context = sagemaker.describe_context(ContextName=context_name)
    except ClientError as error:
        if not _not_found(error):
            raise
        existing_context = None
    if existing_context is not None:
        recorded = existing_context.get("Properties", {}).get("run_fingerprint")
        if recorded != run.fingerprint:
            raise LineageConflictError(
                f"Execution {execution_arn} was already recorded in context "
                f"{existing_context.get('ContextArn')} with different content "
                f"(fingerprint {recorded} != {run.fingerprint}); nothing new was written."
            )

    commit = run.commit
    # 0. Run context first, IN_PROGRESS: any run that wrote anything has a context an audit
    #    query can find; the COMPLETE marker is written last (step 5).
    context_properties = {
        "run_fingerprint": run.fingerprint,
        STATUS_PROPERTY: STATUS_IN_PROGRESS,
        "schema_version": SCHEMA_VERSION,
        "step_functions_execution_arn": execution_arn,
        "pipeline_execution_id": run.pipeline_execution_id,
        "commit_id": run.commit.id,
        "repository": _limit(run.commit.repository),
        "branch": run.commit.branch,
        "training_job_arn": run.training_job_arn,
        "model_package_arn": run.model_package_arn,
        **{f"{step}_job_arn": run.processing_jobs[step] for step in PROCESSING_STEPS},
        **{f"dataset.{role}": _limit(run.datasets[role].describe()) for role in DATASET_ROLES},
    }
    context_arn = writer.context(
        name=context_name,
        request={
            "Source": {
                "SourceUri": execution_arn,
                "SourceType": "StepFunctionsExecution",
                "SourceId": run.pipeline_execution_id,
            },
            "ContextType": CONTEXT_TYPE_RUN,
            "Description": f"Training run {run.pipeline_execution_id} ({execution_arn})",
            "Properties": context_properties,
        },
    )
    result.run_context_arn = context_arn

    message_sha = hashlib.sha256(commit.message.encode()).hexdigest()
    provenance_metadata = {
        "CommitId": commit.id,
        "Repository": commit.repository[:1024],
        "GeneratedBy": execution_arn[:1024],
    }

    # 1. Artifacts
    commit_arn = writer.artifact(
        name=_entity_name("commit", commit.id[:12], commit.source_uri),
        uri=commit.source_uri,
        artifact_type=ARTIFACT_TYPE_COMMIT,
        source_types=[{"SourceIdType": "Custom", "Value": commit.id}],
        properties={
            "commit_id": commit.id,
            "repository": _limit(commit.repository),
            "branch": commit.branch,
            "author": _limit(commit.author),
            "date": commit.date,
            # Property values must be single-line ('.*'): newlines are stored JSON-escaped.
            "message": _limit(_escape(commit.message)),
            "message_sha256": message_sha,
        },
        metadata={"CommitId": commit.id, "Repository": commit.repository[:1024]},
    )
    result.commit_artifact_arn = commit_arn
    dataset_arns: dict[str, str] = {}
    for role in DATASET_ROLES:
        dataset = run.datasets[role]
        dataset_arns[role] = writer.artifact(
            name=_entity_name(
                "dataset", dataset.uri.rsplit("/", 1)[-1] or role, dataset.describe()
            ),
            uri=dataset.uri,
            artifact_type=ARTIFACT_TYPE_DATASET,
            source_types=dataset.source_types,
            properties={"first_recorded_role": role, "first_recorded_by": execution_arn},
        )
    result.dataset_artifact_arns = dict(dataset_arns)

    # The model is the last container: the first one of the serving inference pipeline only
    # drops the protected attributes before it (ml/credit_default/serve_drop.py).
    containers = package.get("InferenceSpecification", {}).get("Containers") or [{}]
    package_properties = {
        "model_package_group": str(package.get("ModelPackageGroupName", "")),
        "model_package_version": str(package.get("ModelPackageVersion", "")),
        "model_data_url": _limit(str(containers[-1].get("ModelDataUrl", ""))),
        "image": _limit(str(containers[-1].get("Image", ""))),
        "training_job_arn": run.training_job_arn,
        "step_functions_execution_arn": execution_arn,
    }
    model_arn = writer.artifact(
        name=_entity_name(
            "model-package",
            run.model_package_arn.split("model-package/", 1)[-1],
            run.model_package_arn,
        ),
        uri=run.model_package_arn,
        artifact_type=ARTIFACT_TYPE_MODEL_PACKAGE,
        source_types=[],
        properties={k: v for k, v in package_properties.items() if v},
        metadata=provenance_metadata,
    )
    result.model_package_artifact_arn = model_arn

    # 2. Actions (one per job)
    step_arns: dict[str, str] = {}
    for step in PROCESSING_STEPS:
        job_arn = run.processing_jobs[step]
        step_arns[step] = writer.action(
            name=_entity_name(step, _job_name(job_arn), job_arn),
            request={
                "Source": {
                    "SourceUri": job_arn,
                    "SourceType": "SageMakerProcessingJob",
                    "SourceId": _job_name(job_arn),
                },
                "ActionType": _STEP_ACTION_TYPE[step],
                "Description": f"SageMaker processing job ({step} step) of {execution_arn}",
                "Status": "Completed",
                "Properties": {"processing_job_arn": job_arn, "step": step},
                "MetadataProperties": provenance_metadata,
            },
        )
    hyperparameters_json = json.dumps(run.hyperparameters, sort_keys=True, separators=(",", ":"))
    training_properties = {
        "training_job_arn": run.training_job_arn,
        "hyperparameters_sha256": hashlib.sha256(hyperparameters_json.encode()).hexdigest(),
    }
    if len(hyperparameters_json) <= _PROPERTY_MAX:
        training_properties["hyperparameters"] = hyperparameters_json
    training_arn = writer.action(
        name=_entity_name("training", _job_name(run.training_job_arn), run.training_job_arn),
        request={
            "Source": {
                "SourceUri": run.training_job_arn,
                "SourceType": "SageMakerTrainingJob",
                "SourceId": _job_name(run.training_job_arn),
            },
            "ActionType": ACTION_TYPE_TRAINING,
            "Description": f"SageMaker training job of {execution_arn}",
            "Status": "Completed",
            "Properties": training_properties,
            "MetadataProperties": provenance_metadata,
        },
    )
    result.training_action_arn = training_arn

    # 4. Associations; the ones pointing at the model package go last.
    preprocess, evaluate, explain, bias = (step_arns[s] for s in PROCESSING_STEPS)
    edges = [
        (commit_arn, preprocess, CONTRIBUTED_TO),
        (commit_arn, training_arn, CONTRIBUTED_TO),
        (dataset_arns["raw"], preprocess, CONTRIBUTED_TO),
        (preprocess, dataset_arns["train"], PRODUCED),
        (preprocess, dataset_arns["validation"], PRODUCED),
        (preprocess, dataset_arns["test"], PRODUCED),
        (dataset_arns["train"], training_arn, CONTRIBUTED_TO),
        (dataset_arns["validation"], training_arn, CONTRIBUTED_TO),
        (dataset_arns["test"], evaluate, CONTRIBUTED_TO),
        (dataset_arns["test"], explain, CONTRIBUTED_TO),
        (dataset_arns["test"], bias, CONTRIBUTED_TO),
    ]
    members = [
        commit_arn,
        *dataset_arns.values(),
        preprocess,
        evaluate,
        explain,
        bias,
        training_arn,
    ]
    edges += [(arn, context_arn, ASSOCIATED_WITH) for arn in dict.fromkeys(members)]
    edges += [
        (model_arn, context_arn, ASSOCIATED_WITH),
        (evaluate, model_arn, CONTRIBUTED_TO),  # the gate metric the model was registered on
        (explain, model_arn, CONTRIBUTED_TO),
        (bias, model_arn, CONTRIBUTED_TO),
        (training_arn, model_arn, PRODUCED),
    ]
    for source_arn, destination_arn, association_type in dict.fromkeys(edges):
        writer.associate(source_arn, destination_arn, association_type)

    # 5. The completion marker, last: the run context turns COMPLETE. UpdateContext replaces
    #    the property list, so the whole list is sent again with the new status.
    if (existing_context or {}).get("Properties", {}).get(STATUS_PROPERTY) != STATUS_COMPLETE:
        sagemaker.update_context(
            ContextName=context_name,
            Properties={**context_properties, STATUS_PROPERTY: STATUS_COMPLETE},
        )
    result.complete = True
    return result


def record_event(event: Any, *, sagemaker: Any, s3: Any = None) -> RecordResult:
    """Validate ``event`` (nothing is written if it is invalid), then record it."""
    return record_run(parse_run_event(event), sagemaker=sagemaker, s3=s3)


# --------------------------------------------------------------------------------------------
# Queries (auditor helpers)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommitRecord:
    commit_id: str
    repository: str
    branch: str
    author: str
    date: str
    message: str
    artifact_arn: str


@dataclass(frozen=True)
class DatasetRecord:
    uri: str
    version_id: str | None
    etag: str | None
    relations: tuple[str, ...]  # RELATION_TRAINING / RELATION_SOURCE / RELATION_EVALUATION
    artifact_arn: str


@dataclass(frozen=True)
class TrainingRecord:
    training_job_arn: str
    hyperparameters: dict[str, str] | None
    action_arn: str


@dataclass(frozen=True)
class RunRecord:
    step_functions_execution_arn: str
    pipeline_execution_id: str
    context_arn: str


@dataclass(frozen=True)
class Provenance:
    model_package_arn: str
    commits: tuple[CommitRecord, ...]
    datasets: tuple[DatasetRecord, ...]
    training_jobs: tuple[TrainingRecord, ...]
    processing_job_arns: tuple[str, ...]
    runs: tuple[RunRecord, ...]
    incomplete_runs: tuple[str, ...] = ()  # execution ARNs still IN_PROGRESS (allow_incomplete)

    @property
    def commit_ids(self) -> tuple[str, ...]:
        return tuple(c.commit_id for c in self.commits)

    @property
    def dataset_uris(self) -> tuple[str, ...]:
        return tuple(sorted({d.uri for d in self.datasets}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Reader:
    """Cached Describe* calls and association listings for one query."""

    def __init__(self, sagemaker: Any) -> None:
        self.sm = sagemaker
        self._cache: dict[str, dict[str, Any]] = {}

    def describe(self, arn: str) -> dict[str, Any]:
        if arn not in self._cache:
            kind = _arn_kind(arn)
            if kind == "artifact":
                self._cache[arn] = self.sm.describe_artifact(ArtifactArn=arn)
            elif kind == "action":
                self._cache[arn] = self.sm.describe_action(ActionName=arn)
            elif kind == "context":
                self._cache[arn] = self.sm.describe_context(ContextName=arn)
            else:
                self._cache[arn] = {}
        return self._cache[arn]

    def action_type(self, arn: str) -> str | None:
        return self.describe(arn).get("ActionType") if _arn_kind(arn) == "action" else None

    def artifacts_with_uri(self, uri: str) -> list[dict[str, Any]]:
        return [
            s
            for s in _paginate(self.sm.list_artifacts, "ArtifactSummaries", SourceUri=uri)
            if s.get("Source", {}).get("SourceUri") == uri
        ]

    def downstream(self, arn: str, association_type: str) -> list[str]:
        return [
            a["DestinationArn"]
            for a in _paginate(
                self.sm.list_associations,
                "AssociationSummaries",
                SourceArn=arn,
                AssociationType=association_type,
            )
        ]

    def upstream(self, arn: str, association_type: str) -> list[str]:
        return [
            a["SourceArn"]
            for a in _paginate(
                self.sm.list_associations,
                "AssociationSummaries",
                DestinationArn=arn,
                AssociationType=association_type,
            )
        ]


def _arn_kind(arn: str) -> str:
    match = re.match(r"arn:[^:]+:sagemaker:[^:]*:[0-9]{12}:([a-z\-]+)/", arn)
    return match.group(1) if match else ""


def _source_version(source: Mapping[str, Any]) -> tuple[str | None, str | None]:
    types = {t.get("SourceIdType"): t.get("Value") for t in source.get("SourceTypes") or []}
    return types.get("S3Version"), types.get("S3ETag")


def _run_status(reader: _Reader, execution_arn: str) -> str | None:
    """The recording status of one run: COMPLETE, IN_PROGRESS, or None when no context exists.
    A context written before completion markers existed (no status property) counts as
    COMPLETE: that version wrote its context after every artifact and action."""
    try:
        context = reader.sm.describe_context(ContextName=run_context_name(execution_arn))
    except ClientError as error:
        if _not_found(error):
            return None
        raise
    return context.get("Properties", {}).get(STATUS_PROPERTY, STATUS_COMPLETE)


def _incomplete_runs_using(reader: _Reader, dataset_uri: str, version: str | None) -> list[str]:
    """Execution ARNs of runs still IN_PROGRESS whose recorded datasets include the URI."""
    found = []
    for summary in _paginate(
        reader.sm.list_contexts, "ContextSummaries", ContextType=CONTEXT_TYPE_RUN
    ):
        context = reader.sm.describe_context(ContextName=summary["ContextName"])
        properties = context.get("Properties", {})
        if properties.get(STATUS_PROPERTY) != STATUS_IN_PROGRESS:
            continue
        for role in DATASET_ROLES:
            described = _unescape(properties.get(f"dataset.{role}", ""))
            if described == dataset_uri or described.startswith(dataset_uri + " "):
                if version is None or f"={version}" in described:
                    found.append(
                        properties.get("step_functions_execution_arn", summary["ContextName"])
                    )
                    break
    return sorted(set(found))


def models_trained_on(
    dataset_uri: str, *, sagemaker: Any, version: str | None = None, allow_incomplete: bool = False
) -> list[str]:
    """Model package ARNs of every model trained on ``dataset_uri`` (any version, or ``version``,
    an S3 version id or ETag), directly or through data derived from it by a preprocessing job.

    Datasets used only for evaluation (explainability / bias jobs) do not count: an empty list for
    a holdout set is the whitepaper's "holdout set was never used for training" check.

    Raises :class:`LineageIncompleteError` when a run that used the dataset has not finished
    recording (its answer could be missing from the list), unless ``allow_incomplete``.
    """
    reader = _Reader(sagemaker)
    incomplete = _incomplete_runs_using(reader, dataset_uri, version)
    if incomplete and not allow_incomplete:
        raise LineageIncompleteError(
            f"{len(incomplete)} run(s) that used {dataset_uri} have not finished recording their "
            f"lineage ({', '.join(incomplete)}): the list of models trained on it may be "
            "incomplete. Re-run the workflow's RecordLineage step (or let its retries finish).",
            tuple(incomplete),
        )
    start = []
    for summary in reader.artifacts_with_uri(dataset_uri):
        version_id, etag = _source_version(summary.get("Source", {}))
        if version is None or version in (version_id, (etag or "").strip('"').lower(), etag):
            start.append(summary["ArtifactArn"])
    models: set[str] = set()
    queue, seen = deque(start), set(start)
    while queue and len(seen) < _MAX_WALK_NODES:
        artifact_arn = queue.popleft()
        for action_arn in reader.downstream(artifact_arn, CONTRIBUTED_TO):
            action_type = reader.action_type(action_arn)
            if action_type not in (ACTION_TYPE_TRAINING, ACTION_TYPE_PREPROCESS):
                continue
            for produced in reader.downstream(action_arn, PRODUCED):
                if _arn_kind(produced) != "artifact":
                    continue
                if action_type == ACTION_TYPE_TRAINING:
                    uri = reader.describe(produced).get("Source", {}).get("SourceUri", "")
                    if _MODEL_PACKAGE_ARN.fullmatch(uri):
                        models.add(uri)
                elif produced not in seen:
                    seen.add(produced)
                    queue.append(produced)
    return sorted(models)


def _runs_of_model(reader: _Reader, model_package_arn: str, model_artifacts: list[str]) -> set[str]:
    """Execution ARNs that registered the model package, as far as they can be known before
    the graph is read: the model artifacts' properties and the package's GeneratedBy."""
    runs = {
        reader.describe(arn).get("Properties", {}).get("step_functions_execution_arn", "")
        for arn in model_artifacts
    }
    try:
        package = reader.sm.describe_model_package(ModelPackageName=model_package_arn)
    except ClientError:
        package = {}
    generated_by = package.get("MetadataProperties", {}).get("GeneratedBy", "")
    if _EXECUTION_ARN.fullmatch(generated_by or ""):
        runs.add(generated_by)
    if not model_artifacts:
        # Interrupted before the model artifact was written: the run contexts still in
        # progress say which run registered this package.
        for summary in _paginate(
            reader.sm.list_contexts, "ContextSummaries", ContextType=CONTEXT_TYPE_RUN
        ):
            properties = reader.sm.describe_context(ContextName=summary["ContextName"]).get(
                "Properties", {}
            )
            if (
                properties.get("model_package_arn") == model_package_arn
                and properties.get(STATUS_PROPERTY) == STATUS_IN_PROGRESS
            ):
                runs.add(properties.get("step_functions_execution_arn", ""))
    return {arn for arn in runs if arn}


def provenance_of(
    model_package_arn: str, *, sagemaker: Any, allow_incomplete: bool = False
) -> Provenance:
    """Walk upstream from a model package to its commit(s), datasets, jobs and runs.

    Raises :class:`LineageIncompleteError` when the run that registered the package has not
    finished recording (the walk would return an empty or partial answer), unless
    ``allow_incomplete``: then the partial answer lists those runs in ``incomplete_runs``.
    """
    reader = _Reader(sagemaker)
    model_artifacts = [s["ArtifactArn"] for s in reader.artifacts_with_uri(model_package_arn)]
    incomplete = sorted(
        arn
        for arn in _runs_of_model(reader, model_package_arn, model_artifacts)
        if _run_status(reader, arn) != STATUS_COMPLETE
    )
    if incomplete and not allow_incomplete:
        raise LineageIncompleteError(
            f"The lineage of {model_package_arn} is incomplete: run(s) {', '.join(incomplete)} "
            "have not finished recording. Re-run the workflow's RecordLineage step (or let its "
            "retries finish) before relying on this provenance.",
            tuple(incomplete),
        )
    if not model_artifacts and not incomplete:
        raise LineageNotFoundError(f"No lineage artifact has SourceUri {model_package_arn}")

    commits: dict[str, CommitRecord] = {}
    datasets: dict[str, tuple[Mapping[str, Any], set[str]]] = {}
    trainings: dict[str, TrainingRecord] = {}
    processing: set[str] = set()
    runs: dict[str, RunRecord] = {}

    # Breadth-first, upstream over Produced / ContributedTo edges.
    queue = deque(model_artifacts)
    seen = set(model_artifacts)
    while queue and len(seen) < _MAX_WALK_NODES:
        node = queue.popleft()
        node_kind = _arn_kind(node)
        if node_kind == "action":
            action = reader.describe(node)
            action_type = action.get("ActionType")
            job_arn = action.get("Source", {}).get("SourceUri", "")
            if action_type == ACTION_TYPE_TRAINING:
                properties = action.get("Properties", {})
                hyperparameters = properties.get("hyperparameters")
                trainings[node] = TrainingRecord(
                    training_job_arn=job_arn,
                    hyperparameters=json.loads(hyperparameters) if hyperparameters else None,
                    action_arn=node,
                )
                for context_arn in reader.downstream(node, ASSOCIATED_WITH):
                    if _arn_kind(context_arn) == "context" and context_arn not in runs:
                        context = reader.describe(context_arn)
                        if context.get("ContextType") == CONTEXT_TYPE_RUN:
                            runs[context_arn] = RunRecord(
                                step_functions_execution_arn=context.get("Source", {}).get(
                                    "SourceUri", ""
                                ),
                                pipeline_execution_id=context.get("Source", {}).get("SourceId", ""),
                                context_arn=context_arn,
                            )
            elif action_type in _RELATION_BY_ACTION_TYPE:
                processing.add(job_arn)
        for association_type in (PRODUCED, CONTRIBUTED_TO):
            for parent in reader.upstream(node, association_type):
                if _arn_kind(parent) == "artifact" and node_kind == "action":
                    artifact = reader.describe(parent)
                    if artifact.get("ArtifactType") == ARTIFACT_TYPE_DATASET:
                        relation = _RELATION_BY_ACTION_TYPE.get(reader.action_type(node) or "")
                        entry = datasets.setdefault(parent, (artifact, set()))
                        if relation:
                            entry[1].add(relation)
                    elif artifact.get("ArtifactType") == ARTIFACT_TYPE_COMMIT:
                        properties = artifact.get("Properties", {})
                        commits[parent] = CommitRecord(
                            commit_id=properties.get("commit_id", ""),
                            repository=properties.get("repository", ""),
                            branch=properties.get("branch", ""),
                            author=properties.get("author", ""),
                            date=properties.get("date", ""),
                            message=_unescape(properties.get("message", "")),
                            artifact_arn=parent,
                        )
                if parent not in seen:
                    seen.add(parent)
                    queue.append(parent)

    dataset_records = []
    for arn, (dataset, relations) in datasets.items():
        version_id, etag = _source_version(dataset.get("Source", {}))
        dataset_records.append(
            DatasetRecord(
                uri=dataset.get("Source", {}).get("SourceUri", ""),
                version_id=version_id,
                etag=etag,
                relations=tuple(sorted(relations)),
                artifact_arn=arn,
            )
        )
    return Provenance(
        model_package_arn=model_package_arn,
        commits=tuple(sorted(commits.values(), key=lambda c: c.commit_id)),
        datasets=tuple(
            sorted(dataset_records, key=lambda d: (d.uri, d.version_id or "", d.etag or ""))
        ),
        training_jobs=tuple(sorted(trainings.values(), key=lambda t: t.training_job_arn)),
        processing_job_arns=tuple(sorted(processing)),
        runs=tuple(sorted(runs.values(), key=lambda r: r.step_functions_execution_arn)),
        incomplete_runs=tuple(incomplete),
    )
