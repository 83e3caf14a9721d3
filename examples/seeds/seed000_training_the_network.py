"""Seed 000 — "Training the Network": loss, autograd, optimizer and a 5-epoch training loop.

The lesson's code, in its order, with the data loading of seed 001 in front (the lesson uses a
`trainloader` and `model` built in the previous topic). One fix: the lesson's listing indents
`optimizer.step()` one level too deep, which is a syntax error; it is aligned here.
Run with `ember run examples/seeds/seed000_training_the_network.py`.
"""
import torch
from torch import nn
from torchvision import datasets, transforms

transform = transforms.Compose([transforms.ToTensor(),
                                transforms.Normalize((0.5,), (0.5,)),
                                ])
trainset = datasets.MNIST('~/.pytorch/MNIST_data/', download=True, train=True, transform=transform)
trainloader = torch.utils.data.DataLoader(trainset, batch_size=64, shuffle=True)

model = nn.Sequential(nn.Linear(784, 128),
                      nn.ReLU(),
                      nn.Linear(128, 64),
                      nn.ReLU(),
                      nn.Linear(64, 10))

# Define the loss
criterion = nn.CrossEntropyLoss()

# Get our data
images, labels = next(iter(trainloader))
# Flatten images
images = images.view(images.shape[0], -1)

# Forward pass, get our logits
logits = model(images)
# Calculate the loss with the logits and the labels
loss = criterion(logits, labels)

print(loss)

x = torch.randn(2,2, requires_grad=True)
print(x)

y = x**2
z = y.mean()

print(y)
print(z)

z.backward()
##Compute gradients using autograd
print(x.grad)

###gradients if computed mannually
print(x/2)

criterion = nn.CrossEntropyLoss()
images, labels = next(iter(trainloader))
images = images.view(images.shape[0], -1)

logits = model(images)
loss = criterion(logits, labels)

### print gradients of weights from the first layer
print('Before backward pass: \n', model[0].weight.grad)

loss.backward()

print('After backward pass: \n', model[0].weight.grad)

from torch import optim

# Optimizers require the parameters to optimize and a learning rate
optimizer = optim.SGD(params = model.parameters(), lr=0.01)

optimizer.step()

print('Updated weights of first layer - ', model[0].weight)

epochs = 5
for e in range(epochs):
    running_loss = 0
    for images, labels in trainloader:
        # Flatten MNIST images into a 784 long vector
        images = images.view(images.shape[0], -1)
    
        ### Training pass
        optimizer.zero_grad()
        
        output = model.forward(images)
        loss = criterion(output, labels)
        loss.backward()
        
        optimizer.step()
        running_loss += loss.item()
    else:
        print(f"Training loss: {running_loss/len(trainloader)}")
