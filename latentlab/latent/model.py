"""Re-export of :mod:`latentlab.models.adapter` (``LatentModel`` moved there so that every analysis shares it)."""
from __future__ import annotations

from ..models.adapter import FeatureFn, LatentModel, as_latent_model, first_layer

__all__ = ["LatentModel", "as_latent_model", "first_layer", "FeatureFn"]
