"""Training: settings (:mod:`.config`), events and controls (:mod:`.events`), the loop
(:mod:`.loop`), its hand-derived MLP step (:mod:`.mlp_step`), its thread count under
background load (:mod:`.threads`), what a non-finite run tells the user (:mod:`.diagnosis`)
and one run from data to checkpoint metadata (:mod:`.job`), shared by the CLI and the window."""

from .config import LR_SCHEDULES, MATMUL_PRECISIONS, TrainConfig, use_bf16_products
from .events import (
    BatchMetrics,
    EpochSummary,
    Snapshot,
    TrainingControl,
    TrainingEvent,
    TrainingFailed,
    TrainingFinished,
    TrainingStarted,
)
from .job import TrainingJob, model_from_snapshot, run_job, save_snapshot
from .loop import take_snapshot, train
from .mlp_step import MLPStep

__all__ = [
    "LR_SCHEDULES",
    "MATMUL_PRECISIONS",
    "BatchMetrics",
    "EpochSummary",
    "MLPStep",
    "Snapshot",
    "TrainConfig",
    "TrainingControl",
    "TrainingEvent",
    "TrainingFailed",
    "TrainingFinished",
    "TrainingJob",
    "TrainingStarted",
    "model_from_snapshot",
    "run_job",
    "save_snapshot",
    "take_snapshot",
    "train",
    "use_bf16_products",
]
