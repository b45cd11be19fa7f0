"""Dissection of generators: box probes, feature-map ablation, forgetting objects (DCGAN §6.3.1)."""
from .ablate import ablate, ablate_layers, ablation_edit, check_maps
from .boxes import box_to_grid, boxes_to_grid, load_boxes_json, validate_boxes
from .edits import Drop, generate_dropped
from .forget import (ForgetResult, ForgetSettings, default_layer, fit_probes, forget, measure, rank_by_iou,
                     sample_and_box, select_maps)
from .forget_boxes import BoxForget, forget_from_boxes
from .forget_object import Curve, Forget, InstrumentComparison, Measurement, ProbeFit, Ranking, split_samples
from .instruments import BoxInstrument, DetectorInstrument, SegmenterInstrument
from .probe import Probe, ProbeResult, collect_features, fit_probe
from .removal import Before, generate, measure_removal, object_boxes, object_masks, removal_curve

__all__ = ["ablate", "ablate_layers", "ablation_edit", "check_maps", "box_to_grid", "boxes_to_grid", "load_boxes_json",
           "validate_boxes", "forget", "ForgetResult", "sample_and_box", "fit_probes", "select_maps", "measure",
           "generate", "Before", "measure_removal", "object_boxes", "object_masks", "rank_by_iou", "removal_curve",
           "default_layer", "Probe", "ProbeResult", "collect_features", "fit_probe", "ForgetSettings", "Forget",
           "ProbeFit", "Ranking", "Measurement", "Curve", "InstrumentComparison", "split_samples", "Drop",
           "generate_dropped", "BoxInstrument", "DetectorInstrument", "SegmenterInstrument", "forget_from_boxes",
           "BoxForget"]
