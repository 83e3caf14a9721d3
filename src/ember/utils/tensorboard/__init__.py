"""ember.utils.tensorboard (torch.utils.tensorboard): SummaryWriter over tensorboardX.

tensorboardX writes the event files (the optional extra `ember[tensorboard]`); this module turns
ember tensors into the NumPy arrays it takes. `add_graph` needs torch's tracer and is not
provided.
"""
from __future__ import annotations

import numpy as np

_HINT = ("ember.utils.tensorboard writes TensorBoard files through tensorboardX, which is not "
         "installed: pip install 'ember[tensorboard]'")


def _np(v):
    from ..._tensor import Tensor
    if isinstance(v, Tensor):
        return v.detach().numpy()
    return v


def _scalar(v):
    v = _np(v)
    return float(v.item()) if isinstance(v, np.ndarray) else v


class SummaryWriter:
    """torch.utils.tensorboard.SummaryWriter's methods; writes to `log_dir` (default
    runs/<date>_<host>, as torch's)."""

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=""):
        try:
            from tensorboardX import SummaryWriter as _Writer
        except ImportError:
            raise ModuleNotFoundError(_HINT) from None
        self._w = _Writer(logdir=log_dir, comment=comment, purge_step=purge_step,
                          max_queue=max_queue, flush_secs=flush_secs,
                          filename_suffix=filename_suffix)
        self.log_dir = self._w.logdir

    def get_logdir(self) -> str:
        return self.log_dir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None, new_style=False,
                   double_precision=False):
        self._w.add_scalar(tag, _scalar(scalar_value), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        self._w.add_scalars(main_tag, {k: _scalar(v) for k, v in tag_scalar_dict.items()},
                            global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        self._w.add_histogram(tag, np.asarray(_np(values)), global_step, bins, walltime,
                              max_bins)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        self._w.add_image(tag, np.asarray(_np(img_tensor)), global_step, walltime, dataformats)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None, dataformats="NCHW"):
        self._w.add_images(tag, np.asarray(_np(img_tensor)), global_step, walltime, dataformats)

    def add_figure(self, tag, figure, global_step=None, close=True, walltime=None):
        self._w.add_figure(tag, figure, global_step, close, walltime)

    def add_text(self, tag, text_string, global_step=None, walltime=None):
        self._w.add_text(tag, text_string, global_step, walltime)

    def add_hparams(self, hparam_dict, metric_dict, hparam_domain_discrete=None, run_name=None,
                    global_step=None):
        self._w.add_hparams({k: _scalar(v) for k, v in hparam_dict.items()},
                            {k: _scalar(v) for k, v in metric_dict.items()},
                            hparam_domain_discrete, run_name, global_step)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None):
        self._w.add_pr_curve(tag, np.asarray(_np(labels)), np.asarray(_np(predictions)),
                             global_step, num_thresholds, weights, walltime)

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None, tag="default",
                      metadata_header=None):
        self._w.add_embedding(np.asarray(_np(mat)), metadata,
                              None if label_img is None else np.asarray(_np(label_img)),
                              global_step, tag, metadata_header)

    def add_graph(self, model, input_to_model=None, verbose=False, use_strict_trace=True):
        raise NotImplementedError("SummaryWriter.add_graph needs torch.jit's tracer, which "
                                  "ember does not have; log scalars, histograms and images "
                                  "instead")

    def flush(self):
        self._w.flush()

    def close(self):
        self._w.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
