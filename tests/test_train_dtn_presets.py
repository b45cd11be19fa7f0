"""pretrained/train_dtn.py's presets (issue 32): each is a valid DTNConfig and differs from the shipped recipe only
in what its name says."""
from __future__ import annotations

import pytest

from latentlab.transfer import DTNConfig

from _scripts import load_script

mod = load_script("pretrained/train_dtn.py")

EXPECTED = {"dtn-digits": set(), "dtn-digits-div": {"diversity", "checkpoint_every"},
            "dtn-digits-div-style": {"diversity", "style", "style_layer", "checkpoint_every"},
            "dtn-digits-mbstd": {"d_minibatch_std", "checkpoint_every"},
            "dtn-digits-div-mbstd": {"diversity", "d_minibatch_std", "checkpoint_every"},
            "dtn-digits-div-ema": {"diversity", "ema_decay", "checkpoint_every"},
            # the same DTN config as div-ema; what differs is f's recipe (ENCODER_RECIPE)
            "dtn-digits-fgrey-ema": {"diversity", "ema_decay", "checkpoint_every"},
            "dtn-digits-fself-ema": {"diversity", "ema_decay", "checkpoint_every"}}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_changes_only_what_its_name_says(name):
    base, preset = mod.PRESETS["dtn-digits"], mod.PRESETS[name]
    assert {k for k in set(base) | set(preset) if base.get(k) != preset.get(k)} == EXPECTED[name]
    DTNConfig(**preset)                       # a valid config


def test_every_preset_is_covered():
    assert set(mod.PRESETS) == set(EXPECTED)


def test_encoder_recipes_name_known_presets_and_recipes():
    from latentlab.transfer.digits import ENCODER_RECIPES
    assert mod.ENCODER_RECIPE == {"dtn-digits-fgrey-ema": "grey-view", "dtn-digits-fself-ema": "self-trained"}
    assert set(mod.ENCODER_RECIPE) <= set(mod.PRESETS) and set(mod.ENCODER_RECIPE.values()) <= set(ENCODER_RECIPES)
