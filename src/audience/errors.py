"""One exception tree for the whole product.

Every error a user can cause or meet derives from :class:`AudienceError`. The CLI prints
``str(error)`` on one line and exits non-zero; the queue and webhook code read
:attr:`AudienceError.retryable` to choose between a retry and a dead-letter record; the HTTP
API answers ``{"success": false, "code": <AudienceError.code>, "message": str(error)}``, the
body the official Segment and RudderStack clients parse. A ``code`` never changes once
published (clients branch on it); the tree shows each class's code.

::

    AudienceError                   internal_error
    ├── ConfigError                 config_error        audience.yaml or settings invalid
    │   ├── WorkspaceNotFoundError  workspace_not_found no audience.yaml where one was expected
    │   └── EngineUnavailableError  engine_unavailable  pyspark or Java missing (engine spark)
    ├── InputError                  invalid_input       a user's file or argument is unusable
    │   ├── UnsupportedFormatError  unsupported_format  neither CSV, Parquet nor JSONL
    │   ├── EmptyInputError         empty_input         no rows to read
    │   ├── EncodingError           bad_encoding        bytes no supported encoding reads
    │   ├── MappingError            bad_mapping         --map names a column the file lacks
    │   ├── QuarantineLimitError    quarantine_limit    too much of a file would be quarantined
    │   ├── AmbiguousPersonError    ambiguous_person    an identifier matches several persons
    │   ├── RequestRejectedError    invalid_request     a collector request is refused (400)
    │   │   ├── UnauthorizedError       unauthorized       wrong/missing key or signature (401)
    │   │   ├── PayloadTooLargeError    payload_too_large  over 32 KB/event, 500 KB/batch (413)
    │   │   ├── UnknownSourceError      unknown_source     no inbound webhook source so named (404)
    │   │   └── NotFoundError           not_found          the dashboard has no such page (404)
    │   ├── PoisonEventError        poison_event        a queued event no retry can process
    │   │   └── MergeRefusedError   merge_refused       an alias would join two known users
    │   └── ExperimentError         experiment_error    an experiment cannot be defined or measured
    │       ├── UnknownExperimentError  unknown_experiment  no experiment of that name (404)
    │       └── NotInExperimentError    not_in_experiment   the person is outside its segment (409)
    ├── WarehouseError              warehouse_error     the warehouse refused an operation
    │   └── MigrationError          migration_error     schema migration failed or is unknown
    ├── ModelError                  model_error         a model cannot be fitted on this data
    │   └── RegistryError           registry_error      no such run to promote, no champion
    └── TransientError              unavailable         worth retrying: a service is down (503)
        ├── QueueUnavailableError   queue_unavailable   the broker or embedded queue refuses (503)
        ├── QueueFullError          queue_full          the collector's buffer is full (429)
        ├── TrackingUnavailableError tracking_unavailable the MLflow server does not answer
        └── ClusterUnavailableError cluster_unavailable the Spark master does not answer
"""

from __future__ import annotations


class AudienceError(Exception):
    """Root of every error raised on purpose by Audience.

    Parameters
    ----------
    message:
        One line saying what went wrong, where, and how to fix it.
    """

    retryable: bool = False
    """Whether retrying the same operation later may succeed."""

    exit_code: int = 1
    """Process exit code the CLI uses for this error."""

    code: str = "internal_error"
    """Stable machine-readable name, the ``code`` of an HTTP error body; never renamed."""


class ConfigError(AudienceError):
    """The workspace configuration or the settings are invalid."""

    code = "config_error"

    exit_code = 2


class WorkspaceNotFoundError(ConfigError):
    """A command needs a workspace and none was found."""

    code = "workspace_not_found"


class InputError(AudienceError):
    """A file or an argument given by the user cannot be used as it is."""

    code = "invalid_input"

    exit_code = 2


class UnsupportedFormatError(InputError):
    """The file is neither CSV, Parquet nor JSONL."""

    code = "unsupported_format"


class EmptyInputError(InputError):
    """The file holds no rows."""

    code = "empty_input"


class EncodingError(InputError):
    """The file's bytes are not text in a supported encoding."""

    code = "bad_encoding"


class MappingError(InputError):
    """A column mapping names a column the file does not have."""

    code = "bad_mapping"


class QuarantineLimitError(InputError):
    """More of a file's rows would be quarantined than the workspace accepts: the import
    is rolled back whole, and the message shows the top reasons with an example of each."""

    code = "quarantine_limit"


class WarehouseError(AudienceError):
    """The warehouse refused an operation."""

    code = "warehouse_error"


class MigrationError(WarehouseError):
    """A schema migration failed, or the warehouse is newer than this version."""

    code = "migration_error"


class ModelError(AudienceError, ValueError):
    """A model cannot be fitted or applied to the data given.

    Also a ``ValueError``, as scikit-learn's estimator contract expects of bad data.
    """

    code = "model_error"


class TransientError(AudienceError):
    """A temporary failure (service unavailable, lock held): retrying may succeed."""

    code = "unavailable"

    retryable = True
    exit_code = 75  # EX_TEMPFAIL


class RequestRejectedError(InputError):
    """A collector request that cannot be accepted as it is; nothing reached the queue."""

    code = "invalid_request"

    status: int = 400


class UnauthorizedError(RequestRejectedError):
    """The write key or the webhook signature is missing or wrong."""

    code = "unauthorized"

    status = 401


class PayloadTooLargeError(RequestRejectedError):
    """An event or a batch is over the Segment limits."""

    code = "payload_too_large"

    status = 413


class UnknownSourceError(RequestRejectedError):
    """An inbound webhook names a source that is not configured."""

    code = "unknown_source"

    status = 404


class NotFoundError(RequestRejectedError):
    """A dashboard page names a segment or a run the warehouse does not hold."""

    code = "not_found"

    status = 404


class PoisonEventError(InputError):
    """A queued event that no retry can process: it goes to the dead letters, with this reason."""

    code = "poison_event"


class QueueUnavailableError(TransientError):
    """The queue did not confirm in time: the client should retry (HTTP 503)."""

    code = "queue_unavailable"


class MergeRefusedError(PoisonEventError):
    """An ``alias`` would join two profiles that each have a userId, and the merge policy is
    ``refuse``: the event is dead-lettered, no profile changes."""

    code = "merge_refused"


class RegistryError(ModelError):
    """A registry operation names a run that does not exist or cannot be promoted, or there
    is no earlier champion to roll back to."""

    code = "registry_error"

    exit_code = 2


class TrackingUnavailableError(TransientError):
    """The MLflow tracking store does not answer; the run itself is kept in the warehouse."""

    code = "tracking_unavailable"


class ExperimentError(InputError):
    """An experiment cannot be defined, assigned or measured as asked (bad definition, empty
    segment, a metric with no data)."""

    code = "experiment_error"


class UnknownExperimentError(ExperimentError):
    """No experiment has this name."""

    code = "unknown_experiment"


class NotInExperimentError(ExperimentError):
    """The person asking for an assignment is not in the experiment's segment (or range)."""

    code = "not_in_experiment"


class AmbiguousPersonError(InputError):
    """A privacy request's identifier matches several persons and ``--all`` was not given:
    nothing is erased, and the message lists them."""

    code = "ambiguous_person"


class QueueFullError(TransientError):
    """The collector holds as many events waiting for the queue as it may: the client should
    slow down and retry after ``Retry-After`` (HTTP 429), instead of the server's memory
    growing without bound while the broker falls behind."""

    code = "queue_full"


class EngineUnavailableError(ConfigError):
    """The chosen engine cannot start on this machine: for Spark, pyspark (the ``spark``
    extra) or a Java runtime is missing."""

    code = "engine_unavailable"


class ClusterUnavailableError(TransientError):
    """The Spark master does not answer: the command stops within seconds instead of
    letting Spark retry for minutes."""

    code = "cluster_unavailable"
