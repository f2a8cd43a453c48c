"""What type checkers and editors see of :mod:`audience`: every public name, imported where
it lives.

The runtime module, ``__init__.py``, imports these names lazily instead. They are
imported here, in a stub, rather than under ``if TYPE_CHECKING:`` in ``__init__.py``:
``lint-imports`` reads every import of a ``.py`` file, and a stage that imports
``audience`` (for ``__version__``) would then seem to import every other stage.
"""

from audience.errors import AmbiguousPersonError as AmbiguousPersonError
from audience.errors import AudienceError as AudienceError
from audience.errors import ClusterUnavailableError as ClusterUnavailableError
from audience.errors import ConfigError as ConfigError
from audience.errors import EmptyInputError as EmptyInputError
from audience.errors import EncodingError as EncodingError
from audience.errors import EngineUnavailableError as EngineUnavailableError
from audience.errors import ExperimentError as ExperimentError
from audience.errors import InputError as InputError
from audience.errors import MappingError as MappingError
from audience.errors import MergeRefusedError as MergeRefusedError
from audience.errors import MigrationError as MigrationError
from audience.errors import ModelError as ModelError
from audience.errors import NotFoundError as NotFoundError
from audience.errors import NotInExperimentError as NotInExperimentError
from audience.errors import PayloadTooLargeError as PayloadTooLargeError
from audience.errors import PoisonEventError as PoisonEventError
from audience.errors import QuarantineLimitError as QuarantineLimitError
from audience.errors import QueueFullError as QueueFullError
from audience.errors import QueueUnavailableError as QueueUnavailableError
from audience.errors import RegistryError as RegistryError
from audience.errors import RequestRejectedError as RequestRejectedError
from audience.errors import TrackingUnavailableError as TrackingUnavailableError
from audience.errors import TransientError as TransientError
from audience.errors import UnauthorizedError as UnauthorizedError
from audience.errors import UnknownExperimentError as UnknownExperimentError
from audience.errors import UnknownSourceError as UnknownSourceError
from audience.errors import UnsupportedFormatError as UnsupportedFormatError
from audience.errors import WarehouseError as WarehouseError
from audience.errors import WorkspaceNotFoundError as WorkspaceNotFoundError
from audience.features.behaviour import compute_features as compute_features
from audience.ingest.demo.generate import generate as generate
from audience.ingest.importer import import_file as import_file
from audience.model.runs import SegmentRun as SegmentRun
from audience.pipelines.run_report import write_run_report as write_run_report
from audience.pipelines.segment_run import run_segmentation as run_segmentation
from audience.pipelines.why import why as why
from audience.predictive.bgnbd import BetaGeoModel as BetaGeoModel
from audience.predictive.churn import run_churn as run_churn
from audience.predictive.clv import ClvOptions as ClvOptions
from audience.predictive.clv import run_clv as run_clv
from audience.predictive.cohorts import cohort_table as cohort_table
from audience.predictive.gamma_gamma import GammaGammaModel as GammaGammaModel
from audience.predictive.pnbd import ParetoNBDModel as ParetoNBDModel
from audience.predictive.purchases import customer_summary as customer_summary
from audience.quality.clean import clean_workspace as clean_workspace
from audience.rules.evaluate import evaluate as evaluate
from audience.rules.live_evaluator import LiveEvaluator as LiveEvaluator
from audience.rules.loading import load_activation as load_activation
from audience.segmentation.algorithms import MiniBatchSegments as MiniBatchSegments
from audience.segmentation.density import DBSCANSegments as DBSCANSegments
from audience.segmentation.density import HDBSCANSegments as HDBSCANSegments
from audience.segmentation.hierarchical import WardSegments as WardSegments
from audience.segmentation.kmeans import AutoKMeans as AutoKMeans
from audience.segmentation.mixture import MixtureSegments as MixtureSegments
from audience.segmentation.rfm import RFMSegmenter as RFMSegmenter
from audience.segmentation.selection import AutoSegmenter as AutoSegmenter
from audience.segmentation.space import FeatureSpace as FeatureSpace
from audience.segmentation.stored_runs import load_run as load_run
from audience.store.clock import FixedClock as FixedClock
from audience.store.clock import SystemClock as SystemClock
from audience.store.workspace import Workspace as Workspace

__version__: str
__all__: list[str]

def __dir__() -> list[str]: ...
