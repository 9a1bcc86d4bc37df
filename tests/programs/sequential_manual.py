"""nn.Sequential with a manual update loop (PyTorch's polynomial_nn tutorial)."""
import math

import torch

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(
    torch.nn.Linear(3, 1),
    torch.nn.Flatten(0, 1),
)
with torch.no_grad():  # a fixed start, so that both libraries begin at the same point
    model[0].weight.copy_(torch.tensor([[0.3, -0.1, 0.02]]))
    model[0].bias.fill_(0.05)

loss_fn = torch.nn.MSELoss(reduction="sum")
learning_rate = 1e-6
losses = []
for t in range(2000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        losses.append(loss.item())
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

linear_layer = model[0]
RESULT = {"losses": losses, "bias": linear_layer.bias.item(),
          "weights": [linear_layer.weight[:, i].item() for i in range(3)]}
