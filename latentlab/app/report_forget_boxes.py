"""The report's "forget from boxes" section: forget the user's label on any model, measured from the user's boxes
(no judge), with its removal / locality curves (``latentlab report MODEL --boxes FILE``)."""
from __future__ import annotations

import html

__all__ = ["KEY", "with_boxes", "forget_boxes_section"]

KEY = "forget-boxes"
NO_BOXES = ("no boxes: pass boxes= (a `latentlab annotate` file drawn on the forget probe samples, n and seed as "
            "the report's) to forget your label measured from your boxes")


def with_boxes(keys: list, skipped: dict, boxes, requested) -> tuple[list, dict]:
    """Drop the section from ``keys`` (with the reason in ``skipped``) when no boxes were given; refuse it when it
    was asked for by name without boxes."""
    if boxes is not None or KEY not in keys:
        return keys, skipped
    if requested is not None and KEY in requested:
        raise ValueError(f"sections: {KEY!r} needs boxes; {NO_BOXES}")
    return [k for k in keys if k != KEY], {**skipped, KEY: NO_BOXES}


def forget_boxes_section(s, b, seed: int, boxes, label: str | None = None) -> dict:
    """The section for the report subject ``s``: ``boxes`` a boxes file path or a BoxesFile drawn on the probe
    samples of ``seed`` (their number is the file's own ``n``, whatever the report's budget ``b``: the boxes were
    drawn on those samples). Returns the keyword arguments of the report's ``Section``."""
    from ..dissect.boxes_json import BoxesFile, load_boxes
    from ..dissect.forget_boxes import forget_from_boxes
    from .forget_from_boxes import box_figures, box_summary, label_from_path
    if not isinstance(boxes, BoxesFile):
        label = label or label_from_path(boxes)
        boxes = load_boxes(boxes, seed=seed)
    elif boxes.seed != seed:
        raise ValueError(f"boxes: drawn on samples of seed={boxes.seed}, the report's seed is {seed}")
    label = label or "object"
    lm = s.lm
    r = forget_from_boxes(lm, boxes, label=label, layers=None if s.gan is not None else s.layer, seed=seed)
    _, figs = box_figures(r)
    cap = (f"Forget <b>{html.escape(label)}</b> from your {boxes.n_boxes} boxes: a probe fitted on the train half of "
           "the boxed samples ranks the maps (probe weight, causal effect); the maps are dropped everywhere or only "
           "in the object's cells, to zero or to what the maps carry where there is no object; the default is "
           "chosen on the train samples' removal-vs-collateral curves. Every number is measured on the held-out "
           f"samples, read by {html.escape(r.instrument['name'])} (no judge), beside as many random maps dropped "
           "the same way (DCGAN §6.3.1; GAN Dissection / GANPaint's local ablation).")
    return dict(key=KEY, title=f"Forget {label} from boxes", caption=cap, figures=figs,
                numbers="<br>".join(html.escape(x) for x in box_summary(r).splitlines()), data=r.to_dict())
