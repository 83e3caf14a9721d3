"""Seed 003 — the lesson's listing calls `nn.CrossEntropy()`, which does not exist in PyTorch:
it raises AttributeError there, and so it must on ember. Run with
`ember run examples/seeds/seed003_criterion_typo.py` (exits with the AttributeError).
"""
import torch
from torch import nn

# build a feed forward network
model = nn.Sequential(nn.Linear(784,128),
                      nn.ReLU(),
                      nn.Linear(128, 64),
                      nn.ReLU(),
                      nn.Linear(64, 10))
# define the loss
criterion = nn.CrossEntropy()
