"""Generative training steps on 28x28 images, ember vs torch, one thread, interleaved in one
process so that machine load hits both alike; the best of --repeats rounds of --steps calls.

  * DCGAN: generator (ConvTranspose2d 64->128->64->1, BatchNorm, ReLU, Tanh) and discriminator
    (Conv2d, BatchNorm, LeakyReLU, Linear), one discriminator step on real + fake and one
    generator step with Adam, BCE-with-logits losses.
  * Convolutional VAE: Conv2d encoder, reparametrisation, ConvTranspose2d decoder, BCE + KL,
    Adam.

Prints ms per step and the ember/torch ratio (target <= 1.0).

    python bench/bench_generative.py [--repeats 5] [--steps 5] [--batch 64] [--wall]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import _timing  # noqa: E402  (bench/, beside this script)

NZ = 64


def dcgan(fw):
    nn = fw.nn
    gen = nn.Sequential(
        nn.ConvTranspose2d(NZ, 128, 7, 1, 0, bias=False), nn.BatchNorm2d(128), nn.ReLU(True),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(True),
        nn.ConvTranspose2d(64, 1, 4, 2, 1, bias=False), nn.Tanh())
    disc = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
        nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2, True),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    return gen, disc


class _VAEParts:
    def __init__(self, fw, latent=20):
        nn = fw.nn
        self.enc = nn.Sequential(nn.Conv2d(1, 32, 4, 2, 1), nn.ReLU(),
                                 nn.Conv2d(32, 64, 4, 2, 1), nn.ReLU(), nn.Flatten(),
                                 nn.Linear(64 * 7 * 7, 2 * latent))
        self.dec_fc = nn.Linear(latent, 64 * 7 * 7)
        self.dec = nn.Sequential(nn.ReLU(), nn.Unflatten(1, (64, 7, 7)),
                                 nn.ConvTranspose2d(64, 32, 4, 2, 1), nn.ReLU(),
                                 nn.ConvTranspose2d(32, 1, 4, 2, 1), nn.Sigmoid())
        self.latent = latent

    def parameters(self):
        return (list(self.enc.parameters()) + list(self.dec_fc.parameters()) +
                list(self.dec.parameters()))


def cases(fw, batch: int):
    fw.manual_seed(0)
    F = fw.nn.functional
    rng = np.random.default_rng(0)
    real = fw.tensor(rng.random((batch, 1, 28, 28), dtype=np.float32) * 2 - 1)
    z = fw.tensor(rng.standard_normal((batch, NZ, 1, 1)).astype(np.float32))
    ones = fw.ones(batch, 1)
    zeros = fw.zeros(batch, 1)
    gen, disc = dcgan(fw)
    opt_g = fw.optim.Adam(gen.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = fw.optim.Adam(disc.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def gan_step():
        fake = gen(z)
        opt_d.zero_grad()
        loss_d = (F.binary_cross_entropy_with_logits(disc(real), ones) +
                  F.binary_cross_entropy_with_logits(disc(fake.detach()), zeros))
        loss_d.backward()
        opt_d.step()
        opt_g.zero_grad()
        loss_g = F.binary_cross_entropy_with_logits(disc(fake), ones)
        loss_g.backward()
        opt_g.step()

    vae = _VAEParts(fw)
    opt_v = fw.optim.Adam(vae.parameters(), lr=1e-3)
    x01 = fw.tensor(rng.random((batch, 1, 28, 28), dtype=np.float32))
    eps = fw.tensor(rng.standard_normal((batch, vae.latent)).astype(np.float32))

    def vae_step():
        h = vae.enc(x01)
        mu, logvar = h[:, :vae.latent], h[:, vae.latent:]
        zz = mu + eps * (0.5 * logvar).exp()
        recon = vae.dec(vae.dec_fc(zz))
        bce = F.binary_cross_entropy(recon, x01, reduction="sum")
        kld = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum()
        opt_v.zero_grad()
        (bce + kld).backward()
        opt_v.step()

    fz = fw.tensor(rng.standard_normal((batch, 128, 7, 7)).astype(np.float32),
                   requires_grad=True)
    ct = gen[3]
    return {"DCGAN step (D + G, Adam)": gan_step, "conv VAE step (Adam)": vae_step,
            "ConvTranspose2d 128->64 fw+bw": lambda: ct(fz).sum().backward()}


def main() -> None:
    ap = argparse.ArgumentParser()
    _timing.add_options(ap, repeats=5, steps=5)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    import torch

    import ember
    _timing.one_thread(torch)
    ct, ce = cases(torch, args.batch), cases(ember, args.batch)
    print(f"batch {args.batch}, 1 thread, load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    _timing.compare(ct, ce, args, width=32, digits=2)


if __name__ == "__main__":
    main()
