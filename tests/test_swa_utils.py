"""ember.optim.swa_utils against torch's: AveragedModel (SWA mean, EMA via multi_avg_fn and
avg_fn, use_buffers), state_dict keys, update_bn, SWALR's schedule (cos / linear, anneal_epochs
0, several groups), and argument errors."""
from __future__ import annotations

import numpy as np
import pytest

import ember
from helpers import assert_close

RNG = np.random.default_rng(41)
XS = [RNG.standard_normal((8, 3)).astype(np.float32) for _ in range(4)]


def _train(fw, make_avg, use_buffers=False):
    import importlib
    su = importlib.import_module(fw.__name__ + ".optim.swa_utils")
    fw.manual_seed(0)
    model = fw.nn.Sequential(fw.nn.Linear(3, 5), fw.nn.BatchNorm1d(5), fw.nn.ReLU(),
                             fw.nn.Linear(5, 1))
    avg = make_avg(su, model, use_buffers)
    opt = fw.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for x in XS:
        loss = model(fw.tensor(x)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        avg.update_parameters(model)
    su.update_bn([(fw.tensor(x), 0) for x in XS], avg)
    out = avg(fw.tensor(XS[0]))
    return avg, [out, avg.n_averaged] + list(avg.state_dict().values())


MAKERS = {
    "swa": lambda su, m, ub: su.AveragedModel(m, use_buffers=ub),
    "ema_multi": lambda su, m, ub: su.AveragedModel(m, multi_avg_fn=su.get_ema_multi_avg_fn(0.9),
                                                   use_buffers=ub),
    "ema_fn": lambda su, m, ub: su.AveragedModel(m, avg_fn=su.get_ema_avg_fn(0.8),
                                                use_buffers=ub),
    "swa_fn": lambda su, m, ub: su.AveragedModel(m, avg_fn=su.get_swa_avg_fn(),
                                                use_buffers=ub),
}


@pytest.mark.parametrize("kind", list(MAKERS))
@pytest.mark.parametrize("use_buffers", [False, True])
def test_averaged_model_matches_torch(torch, kind, use_buffers):
    ae, e = _train(ember, MAKERS[kind], use_buffers)
    at, t = _train(torch, MAKERS[kind], use_buffers)
    assert list(ae.state_dict().keys()) == list(at.state_dict().keys())
    for a, b in zip(e, t):
        assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("strategy,epochs", [("cos", 3), ("linear", 4), ("cos", 0)])
def test_swalr_schedule_matches_torch(torch, strategy, epochs):
    lrs = []
    for fw in (ember, torch):
        import importlib
        su = importlib.import_module(fw.__name__ + ".optim.swa_utils")
        p = [fw.nn.Parameter(fw.ones(2)), fw.nn.Parameter(fw.ones(2))]
        opt = fw.optim.SGD([{"params": [p[0]]}, {"params": [p[1]], "lr": 0.5}], lr=0.1)
        sched = su.SWALR(opt, swa_lr=[0.05, 0.01], anneal_epochs=epochs,
                         anneal_strategy=strategy)
        seq = []
        for _ in range(7):
            opt.step()
            sched.step()
            seq.append([g["lr"] for g in opt.param_groups])
        lrs.append(seq)
    np.testing.assert_allclose(lrs[0], lrs[1], rtol=1e-12)


def test_errors_like_torch(torch):
    import torch.optim.swa_utils  # noqa: F401
    for fw in (ember, torch):
        opt = fw.optim.SGD([fw.nn.Parameter(fw.ones(1))], lr=0.1)
        with pytest.raises(ValueError):
            fw.optim.swa_utils.SWALR(opt, swa_lr=0.1, anneal_strategy="exp")
        with pytest.raises(ValueError):
            fw.optim.swa_utils.SWALR(opt, swa_lr=[0.1, 0.2])
        with pytest.raises(ValueError):
            fw.optim.swa_utils.get_ema_multi_avg_fn(1.5)
