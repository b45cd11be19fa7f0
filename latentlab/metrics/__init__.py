"""Metrics: how good, how diverse, how novel and how smooth a GAN is, measured with the judges.

``evaluate(model)`` runs them all (``latentlab evaluate MODEL`` on the command line); the pieces are
plain functions on tensors:

- ``frechet_distance`` / ``judge_features``: Fréchet distance (Heusel et al. 2017) in the feature
  space of a judge, not Inception (which cannot be downloaded here).
- ``msssim`` / ``msssim_pairs`` / ``msssim_per_class``: AC-GAN's diversity (Odena et al. 2017);
  ``mode_collapse`` flags near-identical samples.
- ``room_content`` / ``face_content`` / ``class_accuracy``: what the samples show (DCGAN §6.3,
  AC-GAN's "Inception accuracy").
- ``nearest_distances`` / ``flag_near_copies``: memorization (nearest training image).
- ``perceptual_path_length``: smoothness of latent walks (Karras et al. 2019).
"""
from __future__ import annotations

from .content import class_accuracy, compare_rates, face_content, room_content
from .diversity import mode_collapse, msssim, msssim_pairs, msssim_per_class, msssim_settings
from .evaluate import EvalSettings, Evaluation, RealData, evaluate, load_real, resolve_model
from .frechet import feature_statistics, frechet_distance, judge_features
from .memorization import flag_near_copies, near_copy_thresholds, nearest_distances
from .ppl import PPLSettings, lerp, perceptual_path_length, random_generator, slerp

__all__ = [
    "evaluate", "EvalSettings", "Evaluation", "RealData", "load_real", "resolve_model",
    "frechet_distance", "feature_statistics", "judge_features",
    "msssim", "msssim_pairs", "msssim_per_class", "msssim_settings", "mode_collapse",
    "room_content", "face_content", "class_accuracy", "compare_rates",
    "nearest_distances", "near_copy_thresholds", "flag_near_copies",
    "perceptual_path_length", "PPLSettings", "random_generator", "slerp", "lerp",
]
