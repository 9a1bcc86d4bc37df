"""A small CNN on a custom Dataset through a DataLoader, with Adam, train/eval modes and a
saved and reloaded state_dict (the shape of PyTorch's quickstart, on made-up images)."""
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset


class Stripes(Dataset):
    """8x8 images of horizontal (label 0) or vertical (label 1) stripes, with a fixed ripple."""

    def __init__(self, count):
        self.count = count

    def __len__(self):
        return self.count

    def __getitem__(self, index):
        phase = index * 0.37
        grid = torch.arange(8, dtype=torch.float32)
        wave = torch.sin(grid * 1.3 + phase)
        image = wave.unsqueeze(1).repeat(1, 8) if index % 2 == 0 else wave.repeat(8, 1)
        image = image + 0.1 * torch.cos(grid * (index % 5)).unsqueeze(0)
        return image.unsqueeze(0), index % 2


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1, bias=False)  # BN removes any bias
        self.bn = nn.BatchNorm2d(4)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(4, 8, 3)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        x = self.pool(F.relu(self.bn(self.conv1(x))))
        x = F.relu(self.conv2(x), inplace=True)
        x = self.gap(x).flatten(1)
        if self.training:
            x = x * 1.0  # dropout is random: left out of the compared run
        return self.fc(x)


def fixed_start(model):
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            p.copy_(torch.linspace(-0.4, 0.4 + 0.01 * i, p.numel()).reshape(p.shape))


model = Net()
fixed_start(model)
train_loader = DataLoader(Stripes(48), batch_size=8, shuffle=False)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
history = []
for _epoch in range(6):
    model.train()
    for images, labels in train_loader:
        pred = model(images)
        loss = loss_fn(pred, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    history.append(loss.item())

model.eval()
test_images = torch.stack([Stripes(60)[i][0] for i in range(48, 60)])
test_labels = torch.tensor([i % 2 for i in range(48, 60)])
with torch.no_grad():
    logits = model(test_images)
    correct = (logits.argmax(1) == test_labels).type(torch.float).sum().item()
    probabilities = F.softmax(logits, dim=1)

copy = Net()
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "model.pth")
    torch.save(model.state_dict(), path)
    copy.load_state_dict(torch.load(path, weights_only=True))
copy.eval()
with torch.no_grad():
    same = (copy(test_images) - logits).abs().max().item()

RESULT = {"history": history, "correct": correct, "probabilities": probabilities[:4].tolist(),
          "running_mean": model.bn.running_mean.tolist(),
          "batches_tracked": int(model.bn.num_batches_tracked), "round_trip": same,
          "keys": list(model.state_dict().keys())}
