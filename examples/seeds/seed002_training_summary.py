"""Seed 002 — lesson notes on training. The notes have no listing; this runs what they name:
`requires_grad` at creation and `x.requires_grad_(True)`, `nn.Sequential` ending in
`nn.LogSoftmax(dim=1)` with `nn.NLLLoss`, `loss.backward()`, and one optimizer step.
Run with `ember run examples/seeds/seed002_training_summary.py`.
"""
import torch
from torch import nn, optim

x = torch.randn(3, 4, requires_grad=True)
w = torch.randn(4, 2)
w.requires_grad_(True)
print(x.requires_grad, w.requires_grad)

model = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10), nn.LogSoftmax(dim=1))
criterion = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.01)

images = torch.randn(64, 784)
labels = torch.randint(0, 10, (64,))
loss = criterion(model(images), labels)
print(loss)
optimizer.zero_grad()
loss.backward()
optimizer.step()
print(criterion(model(images), labels).item() < loss.item())
