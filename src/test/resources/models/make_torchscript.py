"""Makes the TorchScript fixture of the DJL/PyTorch engine tests: a tiny MLP classifier.

The model takes `features` float32 [batch, 4] and returns `probs` float32 [batch, 3] (softmax) and
`logits` float32 [batch, 3]. It is trained for a few hundred steps on generated, seeded data (three
Gaussian clusters), traced with torch.jit.trace and saved as tiny_mlp.pt; reference inputs and the
outputs PyTorch gives for them go to tiny_mlp.json next to it. Nothing is downloaded.

Run with Debian's python3-torch (1.13), e.g. unpacked without installing it:
  apt-get install --download-only -o Dir::Cache::archives=/tmp/debs python3-torch
  for d in /tmp/debs/*.deb; do dpkg -x "$d" /tmp/torch-root; done
  R=/tmp/torch-root PYTHONPATH=$R/usr/lib/python3/dist-packages \
    LD_LIBRARY_PATH=$R/lib/x86_64-linux-gnu:$R/usr/lib/x86_64-linux-gnu:$R/usr/lib/x86_64-linux-gnu/blas:$R/usr/lib/x86_64-linux-gnu/lapack:$R/usr/lib \
    python3 src/test/resources/models/make_torchscript.py
"""

import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))


class TinyMlp(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(4, 16)
        self.out = torch.nn.Linear(16, 3)

    def forward(self, features):
        logits = self.out(torch.relu(self.hidden(features)))
        return torch.softmax(logits, dim=1), logits


def data(generator, n):
    centers = torch.tensor([[0.0, 0.0, 1.0, 2.0], [3.0, 1.0, 0.0, -1.0], [-2.0, 3.0, 2.0, 0.0]])
    labels = torch.randint(0, 3, (n,), generator=generator)
    features = centers[labels] + torch.randn(n, 4, generator=generator)
    return features, labels


def main():
    torch.manual_seed(7)
    generator = torch.Generator().manual_seed(7)
    model = TinyMlp()
    features, labels = data(generator, 600)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        _, logits = model(features)
        loss = torch.nn.functional.cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()
    model.eval()

    inputs, expected_labels = data(generator, 24)
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.zeros(1, 4))
        traced.save(os.path.join(HERE, "tiny_mlp.pt"))
        probs, logits = traced(inputs)
    accuracy = (probs.argmax(dim=1) == expected_labels).float().mean().item()
    reference = {
        "torch": torch.__version__,
        "inputs": {"name": "features", "shape": [-1, 4]},
        "outputs": ["probs", "logits"],
        "accuracy": accuracy,
        "features": inputs.tolist(),
        "labels": expected_labels.tolist(),
        "probs": probs.tolist(),
        "logits": logits.tolist(),
    }
    with open(os.path.join(HERE, "tiny_mlp.json"), "w") as f:
        json.dump(reference, f, indent=1)
    print("saved tiny_mlp.pt; accuracy on the reference rows:", accuracy)


if __name__ == "__main__":
    main()
