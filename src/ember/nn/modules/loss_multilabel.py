"""MultiLabelMarginLoss (torch keeps it in nn/modules/loss.py)."""
from __future__ import annotations

from ..._tensor import Tensor
from ...ops.multilabel_margin import multilabel_margin_loss
from .loss import _Loss

__all__ = ["MultiLabelMarginLoss"]


class MultiLabelMarginLoss(_Loss):
    """Hinge loss between each sample's target classes and its other classes."""
    __constants__ = ["reduction"]

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return multilabel_margin_loss(input, target, reduction=self.reduction)
