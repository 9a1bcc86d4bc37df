"""optim.RMSprop on the polynomial (PyTorch's polynomial_optim tutorial) and optim.SGD with
momentum on a small classifier fed by a DataLoader."""
import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

x = torch.linspace(-math.pi, math.pi, 2000)
y = torch.sin(x)
p = torch.tensor([1, 2, 3])
xx = x.unsqueeze(-1).pow(p)

model = torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Flatten(0, 1))
with torch.no_grad():
    model[0].weight.copy_(torch.tensor([[0.2, 0.1, -0.05]]))
    model[0].bias.zero_()
loss_fn = torch.nn.MSELoss(reduction="sum")
# lr 2e-4 rather than the tutorial's 1e-3: there RMSprop ends circling the minimum, and
# float32 rounding alone decides where on the circle a given step lands.
optimizer = torch.optim.RMSprop(model.parameters(), lr=2e-4)
losses = []
for t in range(2000):
    y_pred = model(xx)
    loss = loss_fn(y_pred, y)
    if t % 100 == 99:
        losses.append(loss.item())
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

# Two interleaved spirals-free blobs, classified by a small MLP.
grid = torch.linspace(0, 1, 64)
features = torch.stack([torch.cos(grid * 6.0) + grid, torch.sin(grid * 6.0) - grid], dim=1)
labels = (features[:, 0] > 0.5).long()
loader = DataLoader(TensorDataset(features, labels), batch_size=16, shuffle=False)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(2, 8)
        self.out = nn.Linear(8, 2)
        with torch.no_grad():
            self.hidden.weight.copy_(torch.linspace(-1, 1, 16).reshape(8, 2))
            self.hidden.bias.fill_(0.1)
            self.out.weight.copy_(torch.linspace(0.5, -0.5, 16).reshape(2, 8))
            self.out.bias.zero_()

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x)))


clf = Classifier()
opt = torch.optim.SGD(clf.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
criterion = nn.CrossEntropyLoss()
epoch_losses = []
for _epoch in range(20):
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = criterion(clf(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(xb)
    epoch_losses.append(total / len(loader.dataset))
with torch.no_grad():
    accuracy = (clf(features).argmax(dim=1) == labels).float().mean().item()

RESULT = {"rmsprop_losses": losses, "rmsprop_weights": model[0].weight.flatten().tolist(),
          "sgd_epoch_losses": epoch_losses, "accuracy": accuracy,
          "batches": len(loader)}
