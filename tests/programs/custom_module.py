"""A custom nn.Module trained with optim.SGD, and the dynamic-graph module with weight
sharing (PyTorch's polynomial_module and dynamic_net tutorials, fixed starts)."""
import math

import torch


class Polynomial3(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.2))
        self.b = torch.nn.Parameter(torch.tensor(-0.3))
        self.c = torch.nn.Parameter(torch.tensor(0.1))
        self.d = torch.nn.Parameter(torch.tensor(0.05))

    def forward(self, x):
        return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    def string(self):
        return (f"y = {self.a.item()} + {self.b.item()} x + {self.c.item()} x^2 + "
                f"{self.d.item()} x^3")


class DynamicNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.1))
        self.b = torch.nn.Parameter(torch.tensor(0.2))
        self.c = torch.nn.Parameter(torch.tensor(-0.1))
        self.d = torch.nn.Parameter(torch.tensor(0.05))
        self.e = torch.nn.Parameter(torch.tensor(0.01))

    def forward(self, x, steps):
        y = self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3
        for exp in range(4, steps):
            y = y + self.e * x ** exp
        return y


x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)

model = Polynomial3()
criterion = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
losses = []
for t in range(2000):
    y_pred = model(x)
    loss = criterion(y_pred, y)
    if t % 100 == 99:
        losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

dynamic = DynamicNet()
optimizer = torch.optim.SGD(dynamic.parameters(), lr=1e-8, momentum=0.9)
dynamic_losses = []
for t in range(300):
    y_pred = dynamic(x, 4 + t % 3)  # a graph of a different depth each step
    loss = criterion(y_pred, y)
    dynamic_losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

RESULT = {"losses": losses, "string_starts": model.string()[:4],
          "params": [p.item() for p in model.parameters()],
          "dynamic_losses": dynamic_losses[::30],
          "dynamic_params": [p.item() for p in dynamic.parameters()],
          "names": [name for name, _ in model.named_parameters()]}
