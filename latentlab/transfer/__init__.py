"""Domain Transfer Network (Taigman, Polyak, Wolf, ICLR 2017, "Unsupervised Cross-Domain Image Generation").

Given a fixed encoder f trained on a source domain S, learn G = g o f mapping S into a target domain T
without pairs, so that f(G(x)) ~ f(x). The recipe, with the paper's numbers, is in
:mod:`latentlab.transfer.dtn`; the losses are pure functions in :mod:`latentlab.transfer.losses`.

API (agreed with the faces -> avatars experiment; all names importable from ``latentlab.transfer``)::

    # f: a frozen encoder with a bounded output (BatchNorm + tanh), (N, C_s, S, S) -> (N, feature_dim)
    enc_cfg = EncoderConfig(in_channels=3, image_size=32, feature_dim=128, widths=(64, 128, 256), num_classes=10)
    f = train_encoder(enc_cfg, images, labels, steps=2000, seed=0)   # -> Encoder (eval mode); labels (N,) long
    f = Encoder(enc_cfg); f.features(x) -> (N, 128); f(x) -> class logits (training only)
    save_encoder(f, path) / load_encoder(path)                        # safetensors + JSON config, no pickle
    # any nn.Module with .feature_dim and forward(x) -> (N, D) works as f in DTN(...); to be saved inside a
    # DTN checkpoint it must be an Encoder (its config is stored as "encoder_config").

    cfg = DTNConfig(image_size=32, source_channels=3, target_channels=1, feature_dim=128,
                    ngf=64, ndf=64,                       # widths of g and D
                    alpha=15.0, beta=15.0, gamma=0.0,     # L_G = L_GANG + alpha L_CONST + beta L_TID + gamma L_TV
                    const_distance="mse",                 # or "cosine" (faces)
                    tid_distance="mse",                   # or "l1"
                    binary_d=False,                       # True: the paper's Sec. 3 baseline D (2-way)
                    g_steps_per_d_step=2,
                    steps=5000, batch_size=64, lr=2e-4, beta1=0.5, seed=0,
                    checkpoint_every=500, log_every=1, fast="auto", num_threads=0, progress=True)
    dtn = DTN(cfg, encoder=f)        # dtn.encoder (f, frozen, eval), dtn.decoder (g), dtn.discriminator (D)
    dtn(x_source) -> G(x) = g(f(x)), (N, target_channels, S, S) in [-1, 1]
    dtn.transfer(x, batch_size=256) -> no-grad, eval-mode G(x)

    trainer = DTNTrainer(cfg, encoder=f, source=source_ds, target=target_ds, run_dir="~/latentlab-runs/x",
                         resume=False, callbacks=())
    dtn = trainer.fit()              # run_dir: run.json, log.jsonl, checkpoints/step-*.safetensors, samples/,
                                     # model.safetensors (final). Bit-exact resume; data order from (seed, step).
    save_dtn(dtn, path, half=False) / load_dtn(path) -> DTN   # one safetensors file: encoder.*, decoder.*,
                                     # discriminator.*; metadata "format"="latentlab-dtn", "config" (DTNConfig
                                     # JSON), "encoder_config", "step", "info"

    # the two experiments' f and measurements (not imported by ``import latentlab.transfer``):
    #   latentlab.transfer.digits: transfer_metrics, style_metrics, domain_adaptation, train_digits_encoder, ...
    #   latentlab.transfer.faces: face_encoder_config, train_face_encoder, Reference, measure, ...
    # f's training (train_encoder, train_face_encoder) and DTNTrainer run on latentlab.train.loop.TrainingLoop.

    # datasets: any torch Dataset returning (image in [-1, 1] of shape (C, S, S), label int); labels of
    # the target are never used by the DTN. Source and target must share S (ValueError otherwise);
    # a 1-channel target is fed to f as 3 repeated channels when f takes 3 (``match_channels``).

    losses (pure functions, tensors in, scalar tensor out):
      d_loss(logits_gs, logits_gt, logits_real, binary=False)  # 3-way CE, labels SOURCE_FAKE=0, TARGET_FAKE=1,
                                                               # REAL=2; binary: BCE real vs G(source)
      g_adv_loss(logits_gs, logits_gt, binary=False)           # CE asking D to call G(s) and G(t) REAL
      const_loss(f_x, f_gx, distance="mse"|"cosine"); tid_loss(x, gx, distance="mse"|"l1"); tv_loss(images)
"""
from __future__ import annotations

from . import losses
from .dtn import DTN, DTNConfig, Decoder, Discriminator, load_dtn, load_f, match_channels, save_dtn
from .encoder import (Encoder, EncoderConfig, encoder_accuracy, encoder_logits, load_encoder, save_encoder,
                      train_encoder)
from .losses import const_loss, d_loss, g_adv_loss, tid_loss, tv_loss
from .trainer import DTNTrainer, latest_checkpoint

__all__ = ["DTN", "DTNConfig", "Decoder", "Discriminator", "load_dtn", "load_f", "save_dtn", "match_channels", "Encoder",
           "EncoderConfig", "train_encoder", "save_encoder", "load_encoder", "encoder_accuracy", "encoder_logits",
           "losses", "d_loss", "g_adv_loss", "const_loss", "tid_loss", "tv_loss", "DTNTrainer", "latest_checkpoint"]
