"""Training throughput: latentlab's Trainer vs the pytorch/examples DCGAN loop, side by side in one process.

    python benchmarks/bench_train.py --image-size 64 --ngf 64 --batch 64 --steps 5 --warmup 1 --json bench.json
    python benchmarks/bench_train.py --steps 3 --variants default,channels_last,no_skip --threads 1

Variants of latentlab's Trainer (each run in lockstep with its own reference loop): ``default`` (TrainConfig
defaults: fp32 NCHW, D frozen in the G step), ``channels_last`` (TrainConfig(channels_last=True)), ``no_skip``
(skip_d_grads_in_g_step=False: D's weight gradients computed in the G step, as the reference does). The JSON keys
``ours_img_s`` / ``ratio`` refer to the first variant; every variant's figures are under ``runs``.

Both loops train the same architecture (DCGAN, nz=100, ngf=ndf, 4x4 kernels) with the same batch size and
optimizer (Adam 2e-4, betas (0.5, 0.999)) on the same in-memory images (uniform noise in [-1, 1]; the data do
not change the cost). The reference is the training loop of pytorch/examples ``dcgan/main.py`` (fp32, NCHW,
BCELoss on a Sigmoid output, D on real then on fake, G against the updated D), written out below.

Timing: the two loops run in lockstep in one process: after each Trainer step (its per-step callback) one
reference step runs, and each is timed on its own. Load changes on a shared machine therefore hit both alike.
The Trainer's time includes its batch assembly, z sampling, NaN checks and logging; checkpoints are not timed
(``checkpoint_every`` is past the end). The first ``--warmup`` steps (model construction, first-call costs) are
not counted. Reported: images/s = batch / median step time (wall), the median of the step-by-step ratios, and
CPU images/s (batch / median process CPU seconds per step; less sensitive to other jobs, but it counts OpenMP
spin-waiting as work). ``--rounds`` repeats the whole lockstep run.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

try:  # run from a checkout without installing
    import latentlab  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch
from torch import nn, optim

from latentlab import ModelConfig
from latentlab.train import TrainConfig, Trainer
from latentlab.train.trainer import native_bf16


# ------------------------------------------------------------------------------------------------------------
# The reference: pytorch/examples dcgan/main.py (Generator, Discriminator, weights_init and the training loop).
# For image_size 64 the modules are exactly the example's; other sizes add/remove one block per factor of 2.

def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, nz, ngf, nc, image_size=64):
        super().__init__()
        nb = {32: 3, 64: 4, 128: 5}[image_size]
        mult = 2 ** (nb - 1)
        layers = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
        # state size. (ngf*8) x 4 x 4 for 64x64
        for _ in range(nb - 1):
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
            mult //= 2
        # state size. (ngf) x 32 x 32 for 64x64
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        # state size. (nc) x 64 x 64
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ndf, nc, image_size=64):
        super().__init__()
        nb = {32: 3, 64: 4, 128: 5}[image_size]
        # input is (nc) x 64 x 64
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for _ in range(nb - 1):
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * mult * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
            mult *= 2
        # state size. (ndf*8) x 4 x 4 for 64x64
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


class ReferenceDCGAN:
    """The pytorch/examples training loop, one ``step()`` per iteration of its ``for i, data in ...`` loop."""

    def __init__(self, images: torch.Tensor, *, nz: int, ngf: int, ndf: int, batch: int, lr: float = 2e-4,
                 beta1: float = 0.5, seed: int = 0):
        torch.manual_seed(seed)
        nc, size = images.shape[1], images.shape[2]
        self.images, self.nz, self.batch = images, nz, batch
        self.netG = Generator(nz, ngf, nc, size)
        self.netG.apply(weights_init)
        self.netD = Discriminator(ndf, nc, size)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.optimizerD = optim.Adam(self.netD.parameters(), lr=lr, betas=(beta1, 0.999))
        self.optimizerG = optim.Adam(self.netG.parameters(), lr=lr, betas=(beta1, 0.999))
        self.g = torch.Generator().manual_seed(seed)
        self.perm, self.pos = torch.randperm(len(images), generator=self.g), 0

    def step(self):
        netG, netD, criterion, nz = self.netG, self.netD, self.criterion, self.nz
        real_label, fake_label = 1, 0
        if self.pos + self.batch > len(self.images):  # a new epoch (the example's DataLoader, shuffle=True)
            self.perm, self.pos = torch.randperm(len(self.images), generator=self.g), 0
        real_cpu = self.images[self.perm[self.pos:self.pos + self.batch]]
        self.pos += self.batch
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        netD.zero_grad()
        batch_size = real_cpu.size(0)
        label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype)
        output = netD(real_cpu)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        # train with fake
        noise = torch.randn(batch_size, nz, 1, 1)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        netG.zero_grad()
        label.fill_(real_label)  # fake labels are real for generator cost
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        self.optimizerG.step()
        return errD.item(), errG.item(), D_x, D_G_z1, D_G_z2  # the example prints these every step


# ------------------------------------------------------------------------------------------------------------

class _Images(torch.utils.data.Dataset):
    def __init__(self, images):
        self.images = images

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        return self.images[i], 0


class _Lockstep:
    """Trainer callback: after each of the Trainer's steps, run one reference step, timing both separately."""

    def __init__(self, reference: ReferenceDCGAN):
        self.reference = reference
        self.ours, self.ref = [], []  # (wall s, CPU s) per step
        self.mark = (time.perf_counter(), time.process_time())

    def on_step(self, trainer, step, record):
        w, c = time.perf_counter(), time.process_time()
        self.ours.append((w - self.mark[0], c - self.mark[1]))
        self.reference.step()
        w2, c2 = time.perf_counter(), time.process_time()
        self.ref.append((w2 - w, c2 - c))
        self.mark = (time.perf_counter(), time.process_time())


VARIANTS = {"default": {}, "channels_last": {"channels_last": True}, "no_skip": {"skip_d_grads_in_g_step": False}}


def lockstep(images, *, nz, ngf, ndf, batch, total_steps, fast, threads, variant="default", seed=0):
    """Train latentlab's Trainer and the reference in alternation, step by step, so load changes hit both."""
    mc = ModelConfig(arch="dcgan", nz=nz, ngf=ngf, ndf=ndf, image_size=images.shape[2], channels=images.shape[1])
    tc = TrainConfig(steps=total_steps, batch_size=batch, checkpoint_every=total_steps + 1, progress=False,
                     fast=fast, num_threads=threads, grid_size=4, seed=seed, **VARIANTS[variant])
    cb = _Lockstep(ReferenceDCGAN(images, nz=nz, ngf=ngf, ndf=ndf, batch=batch, seed=seed))
    with tempfile.TemporaryDirectory(prefix="latentlab-bench-") as d:
        # the first step includes building the models (warm-up); checkpoints are outside the timed steps
        Trainer(mc, tc, _Images(images), Path(d) / "run", callbacks=[cb]).fit()
    return cb.ours, cb.ref


def machine_info(threads_used: int) -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_model": model or platform.processor(), "logical_cpus": os.cpu_count(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(), "native_bf16": native_bf16(),
        "threads": threads_used, "torch": torch.__version__, "python": platform.python_version(),
        "mkldnn_enabled": torch.backends.mkldnn.enabled, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image-size", type=int, default=64, choices=(32, 64, 128))
    ap.add_argument("--ngf", type=int, default=64, help="generator width (and --ndf unless given)")
    ap.add_argument("--ndf", type=int, default=None)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=5, help="timed steps per run (default 5)")
    ap.add_argument("--warmup", type=int, default=1, help="untimed steps at the start of each run (default 1)")
    ap.add_argument("--rounds", type=int, default=1, help="repetitions of the lockstep run (default 1)")
    ap.add_argument("--fast", choices=("auto", "on", "off"), default="auto",
                    help="latentlab's channels_last + bf16 path (auto: only with native bf16)")
    ap.add_argument("--variants", default="default,channels_last",
                    help=f"comma-separated Trainer variants from {sorted(VARIANTS)} (default: default,channels_last)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads for both loops (0: torch's default)")
    ap.add_argument("--json", default=None, metavar="PATH", help="write the results as JSON")
    a = ap.parse_args(argv)
    ndf = a.ndf or a.ngf
    if a.warmup < 1 or a.steps < 1 or a.rounds < 1:
        ap.error("--warmup, --steps and --rounds must be >= 1 (the first step includes model construction)")
    if a.threads:
        torch.set_num_threads(a.threads)
    threads = torch.get_num_threads()
    fast = {"on": True, "off": False}.get(a.fast, a.fast)
    info = machine_info(threads)
    images = torch.rand(a.batch * 4, 3, a.image_size, a.image_size, generator=torch.Generator().manual_seed(0)) * 2 - 1
    total = a.warmup + a.steps
    variants = [v.strip() for v in a.variants.split(",") if v.strip()]
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants:
        ap.error(f"--variants: unknown {bad}; choose from {sorted(VARIANTS)}")
    print(f"{info['cpu_model']} ({info['cpu_capability']}, native bf16: {info['native_bf16']}), {threads} threads, "
          f"torch {info['torch']}; load average {info['load_average_start']}", flush=True)
    print(f"DCGAN {a.image_size}x{a.image_size}, nz={a.nz}, ngf={a.ngf}, ndf={ndf}, batch {a.batch}: "
          f"{a.rounds} round(s) of {a.warmup} warm-up + {a.steps} timed steps, Trainer and reference in lockstep",
          flush=True)
    times: dict[str, list] = {}
    paired: dict[str, list] = {}
    for r in range(a.rounds):
        for v in variants:
            key = f"ours_{v}"
            ours, ref = lockstep(images, nz=a.nz, ngf=a.ngf, ndf=ndf, batch=a.batch, total_steps=total, fast=fast,
                                 threads=threads, variant=v)
            ours, ref = ours[a.warmup:], ref[a.warmup:]
            times.setdefault(key, []).extend(ours)
            times.setdefault("reference", []).extend(ref)
            paired.setdefault(key, []).extend(rs[0] / os_[0] for os_, rs in zip(ours, ref))
            print(f"  round {r + 1} {key}: {' '.join(f'{x[0]:.2f}' for x in ours)} s/step; "
                  f"reference: {' '.join(f'{x[0]:.2f}' for x in ref)} s/step", flush=True)

    res = {}
    for key, steps in times.items():
        ws, cs = [x[0] for x in steps], [x[1] for x in steps]
        res[key] = {"img_s": a.batch / statistics.median(ws), "img_s_mean": a.batch * len(ws) / sum(ws),
                    "cpu_img_s": a.batch / statistics.median(cs), "step_s_median": statistics.median(ws),
                    "step_s_all": [round(x, 3) for x in ws], "cpu_s_all": [round(x, 3) for x in cs]}
        if key in paired:
            res[key]["paired_ratio_median"] = statistics.median(paired[key])
    main_key = f"ours_{variants[0]}"
    out = {
        "ours_img_s": res[main_key]["img_s"], "reference_img_s": res["reference"]["img_s"],
        "ratio": res[main_key]["img_s"] / res["reference"]["img_s"],
        "paired_ratio_median": res[main_key]["paired_ratio_median"],
        "cpu_ratio": res[main_key]["cpu_img_s"] / res["reference"]["cpu_img_s"],
        "target_ratio": 2.0,
        "settings": {"image_size": a.image_size, "nz": a.nz, "ngf": a.ngf, "ndf": ndf, "batch": a.batch,
                     "steps": a.steps, "warmup": a.warmup, "rounds": a.rounds, "fast": a.fast,
                     "fast_active": native_bf16() if fast == "auto" else bool(fast), "variants": variants,
                     "main_variant": variants[0]},
        "machine": {**info, "load_average_end": [round(x, 2) for x in os.getloadavg()]},
        "runs": res,
    }
    print()
    print(f"{'loop':22s} {'img/s (median)':>15s} {'img/s (mean)':>13s} {'CPU img/s':>10s} {'paired ratio':>13s}")
    for key, v in res.items():
        pr = f"{v['paired_ratio_median']:13.3f}" if "paired_ratio_median" in v else f"{'':13s}"
        print(f"{key:22s} {v['img_s']:15.2f} {v['img_s_mean']:13.2f} {v['cpu_img_s']:10.2f} {pr}")
    for key in res:
        if key != "reference":
            res[key]["ratio"] = res[key]["img_s"] / res["reference"]["img_s"]
    print(f"ratio ours ({variants[0]})/reference: {out['ratio']:.3f} (wall, medians), {out['paired_ratio_median']:.3f} (median of "
          f"step-by-step ratios), {out['cpu_ratio']:.3f} (CPU time); "
          f"target 2.0 {'met' if out['ratio'] >= 2.0 else 'NOT met'}")
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
