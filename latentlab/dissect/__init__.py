"""Dissection of generators: box probes, feature-map ablation, forgetting objects (DCGAN §6.3.1)."""
from .ablate import ablate, ablate_layers, ablation_edit, check_maps
from .boxes import box_to_grid, boxes_to_grid, load_boxes_json, validate_boxes
from .forget import default_layer, forget, generate, measure_removal, object_boxes, object_masks, rank_by_iou, removal_curve
from .probe import Probe, ProbeResult, collect_features, fit_probe

__all__ = ["ablate", "ablate_layers", "ablation_edit", "check_maps", "box_to_grid", "boxes_to_grid", "load_boxes_json",
           "validate_boxes", "forget", "generate", "measure_removal", "object_boxes", "object_masks",
           "rank_by_iou", "removal_curve", "default_layer", "Probe", "ProbeResult", "collect_features", "fit_probe"]
