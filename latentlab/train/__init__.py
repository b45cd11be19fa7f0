"""Training: losses as pure functions and the Trainer (checkpoint/resume, DDP, fast CPU path)."""
from .losses import d_loss_acgan, d_loss_dcgan, g_loss_acgan, g_loss_dcgan, r1_penalty
from .trainer import RunExistsError, TrainConfig, Trainer, TrainingDiverged, latest_checkpoint, train

__all__ = ["TrainConfig", "Trainer", "TrainingDiverged", "RunExistsError", "train", "latest_checkpoint",
           "d_loss_dcgan", "g_loss_dcgan", "d_loss_acgan", "g_loss_acgan", "r1_penalty"]
