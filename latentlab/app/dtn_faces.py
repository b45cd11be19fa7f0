"""The faces -> avatars DTN experiment's f and measurements live in :mod:`latentlab.transfer.faces`; this module
keeps the names the report (``app/report.py``) and older scripts import from here."""
from ..transfer.faces import (FACE_GROUPS, JUDGED, Reference, balanced_accuracy, ceiling_images,  # noqa: F401
                              face_encoder_config, face_labels, group_accuracy, measure, readers_summary,
                              retrieval_ranks, train_face_encoder)

__all__ = ["FACE_GROUPS", "face_labels", "face_encoder_config", "train_face_encoder", "group_accuracy",
           "ceiling_images", "balanced_accuracy", "retrieval_ranks", "measure", "JUDGED", "Reference",
           "readers_summary"]
