"""The declared public API (issue 33): ``latentlab.__all__`` is exactly the names that resolve lazily, each
resolves, and the ``TYPE_CHECKING`` block imports every one of them from the module it resolves from, so
IDEs and type checkers see ``Walk``, ``forget`` and the rest."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import latentlab

INIT = Path(latentlab.__file__)


def _type_checking_imports() -> dict[str, str]:
    """{name: module} of the imports inside ``if TYPE_CHECKING:`` of latentlab/__init__.py."""
    found = {}
    for node in ast.parse(INIT.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom), ast.dump(imp)
                found.update({a.asname or a.name: imp.module for a in imp.names})
    return found


def test_all_is_exactly_the_lazy_names():
    assert len(latentlab.__all__) == len(set(latentlab.__all__)), "a name is listed twice"
    assert set(latentlab.__all__) == set(latentlab._LAZY)


def test_type_checking_block_matches_the_lazy_names():
    assert _type_checking_imports() == latentlab._LAZY


@pytest.mark.parametrize("name", sorted(latentlab._LAZY))
def test_every_public_name_resolves_to_its_module(name):
    value = getattr(latentlab, name)
    module = importlib.import_module(latentlab._LAZY[name])
    if name in ("convert", "train"):  # the sub-module that calls its function of the same name
        assert value is module and callable(value)
    else:
        assert value is getattr(module, name)


def test_filter_report_is_importable_from_the_package():
    from latentlab import FilterReport, filter_report
    from latentlab.attribution.report import FilterReport as report_class, filter_report as report_fn
    assert filter_report is report_fn and FilterReport is report_class


def test_unknown_names_still_raise_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        latentlab.Nope  # noqa: B018


def test_train_is_the_function_and_the_sub_package_whatever_was_imported_first():
    import latentlab.train.trainer as trainer
    assert callable(latentlab.train) and latentlab.train.Trainer is trainer.Trainer
    from latentlab import train
    assert train is latentlab.train and train.train is trainer.train


def test_latent_model_device_works_on_the_callers_module_as_documented():
    """``device=`` moves the caller's module itself (documented in LatentModel): no copy, so a hook the
    caller put on it sees the LatentModel's forward passes."""
    import torch

    from latentlab.hooks import Trace
    from latentlab.models import GAN, ModelConfig
    from latentlab.models.adapter import LatentModel
    torch.manual_seed(0)
    gan = GAN(ModelConfig(nz=8, ngf=4, ndf=4, channels=1, image_size=32), with_discriminator=False)
    lm = LatentModel(gan, device="cpu")
    assert lm.module is gan.generator
    with Trace(gan.generator, "block1") as t:
        lm.generate(lm.sample_z(2, seed=0))
    assert t.output.shape[0] == 2
    assert "in place, not a copy" in " ".join(LatentModel.__doc__.split())
