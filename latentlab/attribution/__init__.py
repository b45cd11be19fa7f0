"""Attribution for discriminators (DCGAN §6.2): guided backprop through LeakyReLU, per-filter views and
how semantic each filter is.

    >>> from latentlab.attribution import GuidedBackprop, FilterGuidedBackprop, filter_report
    >>> maps = FilterGuidedBackprop(gan.discriminator, "block4").attribute(images, filter=3)
    >>> rep = filter_report(gan, "rooms", n=2000)                 # arrays and numbers
    >>> latentlab.app.filters.write_filter_report(rep, "out/filters")   # its figures and files

Data flows: ``guided`` (the captum extension) -> ``filters`` (activations, top images, views) ->
``semantic`` (IoU with label maps) -> ``report`` (both discriminators). Figures are in
``latentlab.viz.filter_figures``.
"""
from __future__ import annotations

from .filters import (FilterViews, filter_scores, filter_views, guided_overlay, layer_activations, random_like,
                      top_images)
from .guided import (GUIDED_ACTIVATIONS, FilterGuidedBackprop, GuidedBackprop, NeuronGuidedBackprop,
                     filter_guided_backprop, guided_backprop, positive_input, register_guided_activation)
from .report import FilterReport, FilterSettings, filter_report, load_labelled_images
from .semantic import SemanticScores, filter_iou, iou_bound

__all__ = [
    "GUIDED_ACTIVATIONS", "register_guided_activation", "positive_input", "GuidedBackprop", "NeuronGuidedBackprop",
    "FilterGuidedBackprop", "guided_backprop", "filter_guided_backprop",
    "layer_activations", "filter_scores", "top_images", "random_like", "FilterViews", "filter_views", "guided_overlay",
    "SemanticScores", "filter_iou", "iou_bound",
    "FilterReport", "FilterSettings", "filter_report", "load_labelled_images",
]
