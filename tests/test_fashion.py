"""Fashion-MNIST dataset (latentlab.data.fashion) and its judge (latentlab.judges.fashion).

Tests that need the real data skip when the Debian package dataset-fashion-mnist is absent;
the parser, error and checkpoint tests run everywhere on small files written to tmp_path.
"""

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from latentlab.data.fashion import FASHION_CLASSES, FashionMNIST, read_idx, resolve_root
from latentlab.judges.fashion import FashionClassifier, FashionClassifierConfig

from _scripts import load_script

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "pretrained" / "judges" / "fashion.safetensors"
FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@pytest.fixture(scope="module")
def fashion_root():
    root = resolve_root()
    if not all((root / f).is_file() or (root / (f + ".gz")).is_file() for f in FILES):
        pytest.skip(f"Fashion-MNIST idx files not found in {root}: "
                    "apt-get install dataset-fashion-mnist, or set LATENTLAB_FASHION_MNIST")
    return root


@pytest.fixture(scope="module")
def train_set(fashion_root):
    return FashionMNIST(fashion_root, "train")


@pytest.fixture(scope="module")
def test_set(fashion_root):
    return FashionMNIST(fashion_root, "test")


@pytest.fixture(scope="module")
def judge():
    if not SHIPPED.is_file():
        pytest.fail(f"shipped judge weights missing: {SHIPPED}")
    return FashionClassifier.load(SHIPPED)


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    """Write a uint8 array as an IDX file (magic 0x0000 08 <ndim>, big-endian uint32 dims)."""
    data = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data += np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def tiny_root(tmp_path):
    """A 5-image train split and a 3-image test split; test files gzipped, train files not."""
    rng = np.random.default_rng(0)
    write_idx(tmp_path / FILES[0], rng.integers(0, 256, (5, 28, 28)))
    write_idx(tmp_path / FILES[1], np.array([0, 1, 2, 3, 9]))
    write_idx(tmp_path / FILES[2], rng.integers(0, 256, (3, 28, 28)), compress=True)
    write_idx(tmp_path / FILES[3], np.array([4, 5, 6]), compress=True)
    return tmp_path


# -- the real data -------------------------------------------------------------------------------
def test_split_sizes_and_class_balance(train_set, test_set):
    for ds, n in ((train_set, 60_000), (test_set, 10_000)):
        assert len(ds) == n
        assert ds.images.shape == (n, 32, 32) and ds.images.dtype == torch.uint8
        assert ds.targets.shape == (n,) and ds.targets.dtype == torch.int64
        assert torch.bincount(ds.targets, minlength=10).tolist() == [n // 10] * 10
        assert ds.classes == FASHION_CLASSES and ds.name == "fashion-mnist"


def test_items_shape_range_and_padding(train_set, test_set):
    assert test_set.targets[:4].tolist() == [9, 2, 1, 1]  # the official test order
    for ds in (train_set, test_set):
        x, y = ds[0]
        assert x.shape == (1, 32, 32) and x.dtype == torch.float32 and isinstance(y, int)
        assert x.min() == -1.0 and x.max() <= 1.0
        # 2-pixel border is background (-1); the 28x28 centre holds the garment
        border = torch.ones(32, 32, dtype=torch.bool)
        border[2:30, 2:30] = False
        assert ds.images[:, border].max() == 0
        assert torch.equal(x[0], ds.images[0].float() / 127.5 - 1)
    assert train_set.images.max() == 255


def test_unpadded_size_28(fashion_root, test_set):
    ds = FashionMNIST(fashion_root, "test", size=28)
    assert ds.images.shape == (10_000, 28, 28) and ds[0][0].shape == (1, 28, 28)
    assert torch.equal(ds.images, test_set.images[:, 2:30, 2:30])


# -- parsing and errors (no real data needed) ----------------------------------------------------
def test_reads_plain_and_gzipped_idx(tiny_root):
    train, test = FashionMNIST(tiny_root, "train"), FashionMNIST(tiny_root, "test")
    assert len(train) == 5 and train.targets.tolist() == [0, 1, 2, 3, 9]
    assert len(test) == 3 and test.targets.tolist() == [4, 5, 6]
    raw = read_idx(tiny_root / FILES[0])
    assert torch.equal(train.images[:, 2:30, 2:30], torch.from_numpy(raw))


def test_root_from_environment(tiny_root, monkeypatch):
    monkeypatch.setenv("LATENTLAB_FASHION_MNIST", str(tiny_root))
    assert len(FashionMNIST(split="test")) == 3


def test_missing_root_says_how_to_get_the_data(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist") as err:
        FashionMNIST(root=tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(err.value) and "root=" in str(err.value)
    monkeypatch.setenv("LATENTLAB_FASHION_MNIST", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        FashionMNIST(split="test")


@pytest.mark.parametrize("damage", ["truncated", "trailing", "magic", "rank", "gzip"])
def test_corrupt_idx_names_the_file(tiny_root, damage):
    target = tiny_root / FILES[0]
    raw = target.read_bytes()
    if damage == "truncated":
        target.write_bytes(raw[:-100])
    elif damage == "trailing":
        target.write_bytes(raw + b"\0")
    elif damage == "magic":
        target.write_bytes(b"\x00\x00\x0d" + raw[3:])  # type code 0x0D = float
    elif damage == "rank":
        write_idx(target, np.zeros((5, 784), dtype=np.uint8))
    else:
        target.unlink()
        target = tiny_root / (FILES[0] + ".gz")
        target.write_bytes(gzip.compress(raw)[:-20])
    with pytest.raises(ValueError, match=target.name):
        FashionMNIST(tiny_root, "train")


def test_label_count_mismatch_and_range(tiny_root):
    write_idx(tiny_root / FILES[1], np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="3 labels for 5 images"):
        FashionMNIST(tiny_root, "train")
    write_idx(tiny_root / FILES[1], np.array([0, 1, 2, 3, 10]))
    with pytest.raises(ValueError, match="out of range"):
        FashionMNIST(tiny_root, "train")


@pytest.mark.parametrize("kwargs, name", [
    ({"split": "val"}, "split"), ({"split": "t10k"}, "split"),
    ({"size": 64}, "size"), ({"size": 28.0}, "size"), ({"size": True}, "size"),
])
def test_bad_split_or_size(tiny_root, kwargs, name):
    with pytest.raises(ValueError, match=name):
        FashionMNIST(tiny_root, **kwargs)


# -- the judge -----------------------------------------------------------------------------------
def test_shipped_judge_reads_real_test_images(judge, test_set):
    """The fast path of the check below: the first 64 official test images (90.6% measured; 93.76% on all 10,000)."""
    images = torch.stack([test_set[i][0] for i in range(64)])
    accuracy = (judge.predict(images) == test_set.targets[:64]).float().mean().item()
    assert accuracy >= 0.80, accuracy


@pytest.mark.shipped
def test_shipped_judge_accuracy(judge, test_set):
    images = torch.stack([test_set[i][0] for i in range(1000)])
    accuracy = (judge.predict(images) == test_set.targets[:1000]).float().mean().item()
    assert accuracy >= 0.88, accuracy


def test_shipped_judge_is_small_fp16_with_metadata():
    assert SHIPPED.stat().st_size < 3_000_000
    tensors, meta = read_raw(SHIPPED)
    assert tensors["classifier.weight"].dtype == torch.float16
    assert meta["format"] == "latentlab-judge" and meta["judge"] == "fashion"
    assert json.loads(meta["config"]) == json.loads(FashionClassifierConfig().to_json())


def test_outputs_shapes_and_modes():
    model = FashionClassifier(FashionClassifierConfig(widths=(4, 8), feature_dim=16)).train()
    x = torch.rand(7, 1, 32, 32, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert model(x).shape == (7, 10)
    pred, proba, feats = model.predict(x, batch_size=3), model.predict_proba(x), model.features(x)
    assert pred.dtype == torch.int64 and pred.shape == (7,)
    assert torch.allclose(proba.sum(1), torch.ones(7)) and feats.shape == (7, 16)
    assert torch.equal(pred, proba.argmax(1)) and not feats.requires_grad
    assert model.training  # judging ran in eval mode and restored the mode
    assert model.predict(x[:0]).shape == (0,)


@pytest.mark.parametrize("images, error, match", [
    (torch.zeros(2, 3, 32, 32), ValueError, r"images must have shape \(N, 1, 32, 32\), got \(2, 3, 32, 32\)"),
    (torch.zeros(1, 32, 32), ValueError, r"images must have shape \(N, 1, 32, 32\)"),
    (torch.zeros(2, 1, 28, 28), ValueError, r"got \(2, 1, 28, 28\)"),
    (torch.zeros(2, 1, 32, 32, dtype=torch.uint8), TypeError, "images must be a floating"),
    (torch.full((2, 1, 32, 32), 255.0), ValueError, r"images must be in \[-1, 1\]"),
])
def test_bad_images(images, error, match):
    model = FashionClassifier()
    with pytest.raises(error, match=match):
        model.predict(images)


def read_raw(path):
    with safe_open(str(path), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, f.metadata()


def assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]), k


def test_save_load_round_trip_is_bit_exact(tmp_path):
    torch.manual_seed(0)
    model = FashionClassifier()
    model.block1.conv1.bn.running_mean.uniform_()  # non-default buffers travel too
    model.save(tmp_path / "a.safetensors")
    loaded = FashionClassifier.load(tmp_path / "a.safetensors")
    assert_same_state(model, loaded) and not loaded.training
    # fp16: the loaded float32 copy saves back to the same fp16 tensors and metadata (not the
    # same bytes: safetensors writes the metadata keys in hash-map order)
    model.save(tmp_path / "h1.safetensors", dtype=torch.float16)
    FashionClassifier.load(tmp_path / "h1.safetensors").save(tmp_path / "h2.safetensors", dtype=torch.float16)
    (t1, m1), (t2, m2) = (read_raw(tmp_path / f"h{i}.safetensors") for i in (1, 2))
    assert m1 == m2 and t1.keys() == t2.keys()
    assert all(t1[k].dtype == t2[k].dtype and torch.equal(t1[k], t2[k]) for k in t1)
    assert t1["fc.weight"].dtype == torch.float16
    assert not list(tmp_path.glob("*.tmp"))  # the atomic write left no temp file


def test_shipped_round_trip(judge, tmp_path):
    judge.save(tmp_path / "j.safetensors")
    assert_same_state(judge, FashionClassifier.load(tmp_path / "j.safetensors"))


@pytest.mark.parametrize("damage", ["truncated", "flipped", "garbage", "format", "shape"])
def test_corrupt_judge_file(tmp_path, damage):
    path = tmp_path / "judge.safetensors"
    model = FashionClassifier()
    model.save(path)
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "flipped":  # in the tensor data: only the sha256 in the metadata notices
        path.write_bytes(raw[:-10] + bytes([raw[-10] ^ 0xFF]) + raw[-9:])
    elif damage == "garbage":
        path.write_bytes(b"not a safetensors file at all")
    elif damage == "format":
        save_file({"x": torch.zeros(2)}, str(path), metadata={"format": "pt"})
    else:  # a config that does not match the tensors
        from latentlab.judges import fashion
        tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
        cfg = FashionClassifierConfig(feature_dim=128).to_json()
        save_file(tensors, str(path), metadata={"format": "latentlab-judge", "judge": "fashion",
                                                "config": cfg, "sha256": fashion._digest(tensors)})
    with pytest.raises(ValueError, match="judge.safetensors"):
        FashionClassifier.load(path)


def test_training_script_smoke(tiny_root, tmp_path):
    script = load_script("scripts/train_judge_fashion.py")
    threads = torch.get_num_threads()
    try:
        metrics = script.main(["--smoke", "--root", str(tiny_root), "--out", str(tmp_path / "j.safetensors")])
    finally:
        torch.set_num_threads(threads)
    assert metrics["epochs"] == 1 and metrics["train_images"] == 5 and metrics["test_images"] == 3
    assert json.loads((tmp_path / "j.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
    FashionClassifier.load(tmp_path / "j.safetensors")
