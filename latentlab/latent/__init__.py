"""The latent space: walks (DCGAN §6.1), vector arithmetic and the turn vector (§6.3.2), and directions
beyond the paper (InterFaceGAN boundaries, SeFa). Works on any generator module mapping z to images. Exemplars
come from a judge or from the user's tags (``load_tags``, ``Arithmetic.from_tags``, ``label_directions``).

    >>> from latentlab import Walk, Arithmetic, RotationAxis, slerp, lerp     # doctest: +SKIP
    >>> Walk(gan).between(z0, z1, steps=8)                 # (8, C, H, W)     # doctest: +SKIP
    >>> Walk(my_netG, prior="normal").random(seed=0)       # a user's module  # doctest: +SKIP

Computation lives in functions (``interpolate``, ``walk_smoothness``, ``result_latents``, ``rotation_axis``,
``boundary``, ``sefa`` ...); the classes hold state (model, pool, concepts) and call them. Figures are in
``latentlab.viz.latent_figures``.
"""
from __future__ import annotations

from ..models.adapter import LatentModel
from .arithmetic import (Arithmetic, ArithmeticOptions, ArithmeticResult, Concept, combine_vectors, concept_vector,
                         parse_expression, result_latents)
from .directions import Direction, boundary, conditional, edit, sefa
from .interpolate import interpolate, lerp, slerp
from .labels import ImageStatsJudge, label_images, match
from .pool import LatentPool, sample_pool
from .rotation import RotationAxis, RotationOptions, along_axis, rotation_axis
from .tag_measures import TagBoundary, TagProbe, label_directions, tag_boundary
from .tags import TagsFile, load_tags, save_tags
from .walk import JUMP_FACTOR, Smoothness, Walk, walk_smoothness

__all__ = [
    "Walk", "Arithmetic", "ArithmeticOptions", "RotationAxis", "RotationOptions", "slerp", "lerp", "interpolate",
    "walk_smoothness", "Smoothness",
    "JUMP_FACTOR", "LatentModel", "Concept", "ArithmeticResult", "concept_vector", "combine_vectors",
    "parse_expression", "result_latents", "rotation_axis", "along_axis", "Direction", "boundary", "conditional",
    "sefa", "edit", "LatentPool", "sample_pool", "label_images", "match", "ImageStatsJudge",
    "TagsFile", "load_tags", "save_tags", "tag_boundary", "TagBoundary", "TagProbe", "label_directions",
]
