"""Training: one loop (``TrainingLoop``: callbacks, save points, SIGINT/SIGTERM, resume) under the GAN Trainer
(checkpoint/resume, DDP, devices, fast CPU path), the DTNTrainer and supervised fits (``fit_classifier``); losses
as pure functions; the stock callbacks (JSONL log, progress, sample grids, checkpoints)."""
from .callbacks import Checkpointer, JsonlLog, ProgressBar, ProgressLines, SampleGrid, default_callbacks
from .devices import autocast_dtype, dist_backend, native_bf16, resolve_device
from .classify import fit_classifier
from .loop import TrainingLoop
from .losses import d_loss_acgan, d_loss_dcgan, g_loss_acgan, g_loss_dcgan, r1_penalty
from .trainer import RunExistsError, TrainConfig, Trainer, TrainingDiverged, latest_checkpoint, train

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "RunExistsError", "train", "latest_checkpoint",
           "d_loss_dcgan", "g_loss_dcgan", "d_loss_acgan", "g_loss_acgan", "r1_penalty",
           "JsonlLog", "ProgressBar", "ProgressLines", "Checkpointer", "SampleGrid", "default_callbacks",
           "resolve_device", "autocast_dtype", "dist_backend", "native_bf16", "TrainingLoop", "fit_classifier"]
