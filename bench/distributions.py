"""torch.distributions workloads on ember vs torch, one thread, interleaved in one process so
that machine load hits both alike; the best of --repeats rounds of --steps calls each. Prints
ms and ratios (ember / torch).

    python bench/distributions.py [--repeats 7] [--steps 20] [--wall]
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import _timing  # noqa: E402  (bench/, beside this script)


def cases(fw):
    """name -> zero-argument callable on framework fw."""
    D = fw.distributions
    rng = np.random.default_rng(0)
    loc = fw.tensor(rng.standard_normal((256, 8), dtype=np.float32), requires_grad=True)
    scale = fw.tensor(rng.random((256, 8), dtype=np.float32) + 0.5, requires_grad=True)
    logits = fw.tensor(rng.standard_normal((256, 10), dtype=np.float32), requires_grad=True)
    cov = np.eye(8, dtype=np.float32) + 0.1
    mvn_loc = fw.tensor(rng.standard_normal((64, 8), dtype=np.float32))
    conc = fw.tensor(rng.random((256, 4), dtype=np.float32) + 0.5)
    x8 = fw.tensor(rng.standard_normal((64, 8), dtype=np.float32))

    def vae_step():  # a VAE's reparameterised sample, log-prob and KL term, with backward
        q = D.Normal(loc, scale)
        z = q.rsample()
        loss = q.log_prob(z).sum() + D.kl_divergence(q, D.Normal(0.0, 1.0)).sum()
        loss.backward()

    def policy_step():  # a policy gradient step: sample actions, log-prob, entropy, backward
        pi = D.Categorical(logits=logits)
        a = pi.sample()
        (pi.log_prob(a).sum() + 0.01 * pi.entropy().sum()).backward()

    return {
        "Normal rsample+log_prob+KL bw": vae_step,
        "Categorical sample+lp+H bw": policy_step,
        "MVN(64x8) log_prob": lambda: D.MultivariateNormal(
            mvn_loc, fw.tensor(cov)).log_prob(x8),
        "Dirichlet(256x4) log_prob": lambda: D.Dirichlet(conc).log_prob(
            conc / conc.sum(-1, keepdim=True)),
        "Gamma sample 256x4x100": lambda: D.Gamma(conc, 1.0).sample((100,)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    _timing.add_options(ap, repeats=7, steps=20)
    args = ap.parse_args()
    import torch
    import ember
    torch.set_num_threads(1)
    ct, ce = cases(torch), cases(ember)
    _timing.compare(ct, ce, args, width=32, digits=3)


if __name__ == "__main__":
    main()
