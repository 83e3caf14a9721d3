"""The seed lessons' networks, as `ember train` builds them."""
from __future__ import annotations

from .. import nn
from ..nn import functional as F


def seed_mlp(log_softmax: bool = False) -> nn.Sequential:
    """Seed 000/001: 784-128-64-10 with ReLUs (and LogSoftmax for the NLL variant)."""
    layers = [nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)]
    if log_softmax:
        layers.append(nn.LogSoftmax(dim=1))
    return nn.Sequential(*layers)


class SeedCNN(nn.Module):
    """Seed 004's Fashion-MNIST network: two 5x5 convolutions with max pooling, three linears."""

    def __init__(self, log_softmax: bool = False):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)
        self.fc1 = nn.Linear(in_features=12 * 4 * 4, out_features=120)
        self.fc2 = nn.Linear(in_features=120, out_features=60)
        self.out = nn.Linear(in_features=60, out_features=10)
        self.log_softmax = log_softmax

    def forward(self, t):
        t = F.max_pool2d(F.relu(self.conv1(t)), kernel_size=2, stride=2)
        t = F.max_pool2d(F.relu(self.conv2(t)), kernel_size=2, stride=2)
        t = F.relu(self.fc1(t.reshape(-1, 12 * 4 * 4)))
        t = F.relu(self.fc2(t))
        t = self.out(t)
        return F.log_softmax(t, dim=1) if self.log_softmax else t
