"""Training: losses as pure functions, the Trainer (checkpoint/resume, DDP, devices, fast CPU path) and its
callbacks (JSONL log, progress, sample grids, checkpoints)."""
from .callbacks import Checkpointer, JsonlLog, ProgressBar, ProgressLines, SampleGrid, default_callbacks
from .devices import autocast_dtype, dist_backend, native_bf16, resolve_device
from .losses import d_loss_acgan, d_loss_dcgan, g_loss_acgan, g_loss_dcgan, r1_penalty
from .trainer import RunExistsError, TrainConfig, Trainer, TrainingDiverged, latest_checkpoint, train

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "RunExistsError", "train", "latest_checkpoint",
           "d_loss_dcgan", "g_loss_dcgan", "d_loss_acgan", "g_loss_acgan", "r1_penalty",
           "JsonlLog", "ProgressBar", "ProgressLines", "Checkpointer", "SampleGrid", "default_callbacks",
           "resolve_device", "autocast_dtype", "dist_backend", "native_bf16"]
