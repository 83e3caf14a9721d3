"""ember.onnx.export (torch.onnx.export), issue 12 item 6: the exported file runs in ONNX
Runtime and gives ember's outputs, for the seed MLP, the seed CNN and the other exportable
layers; names, dynamic axes and opset are as asked; an op ember cannot export is named."""
from __future__ import annotations

import io

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import ember

nn = ember.nn
F = nn.functional


def _seed_mlp():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10))


class _SeedCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=1, out_channels=6, kernel_size=5)
        self.conv2 = nn.Conv2d(in_channels=6, out_channels=12, kernel_size=5)
        self.fc1 = nn.Linear(in_features=12 * 4 * 4, out_features=120)
        self.fc2 = nn.Linear(in_features=120, out_features=60)
        self.out = nn.Linear(in_features=60, out_features=10)

    def forward(self, t):
        t = F.max_pool2d(F.relu(self.conv1(t)), kernel_size=2, stride=2)
        t = F.max_pool2d(F.relu(self.conv2(t)), kernel_size=2, stride=2)
        t = F.relu(self.fc1(t.reshape(-1, 12 * 4 * 4)))
        return self.out(F.relu(self.fc2(t)))


class _Layers(nn.Module):
    """The other exportable layers: BatchNorm (eval: running stats), Dropout, pools, Flatten,
    activations, LayerNorm, softmax, and arithmetic in forward."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1, stride=2), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
            nn.AvgPool2d(2, ceil_mode=True), nn.Conv2d(4, 6, 3, padding="same", groups=2),
            nn.ELU(), nn.MaxPool2d(2, padding=1), nn.Dropout(0.5), nn.Identity(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.Tanh(),
                                  nn.LayerNorm(8), nn.Sigmoid(), nn.Linear(8, 5))
        self.seq = nn.Sequential(nn.Conv1d(3, 2, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                                 nn.AvgPool1d(2), nn.Flatten(), nn.Linear(32, 5))

    def forward(self, x):
        h = self.head(self.features(x))
        s = self.seq(x.flatten(2))
        return F.log_softmax(h * 2.0 + s - 1.0, dim=1), F.softmax(h, 1)


def _export(model, args, **kw):
    buf = io.BytesIO()
    ember.onnx.export(model, args, buf, **kw)
    return buf.getvalue()


def _run(blob, feeds):
    sess = ort.InferenceSession(blob, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


@pytest.mark.parametrize("make,shape", [(_seed_mlp, (784,)), (_SeedCNN, (1, 28, 28))])
def test_seed_models_agree_in_onnx_runtime(make, shape):
    ember.manual_seed(0)
    model = make()
    x = ember.randn(2, *shape)
    blob = _export(model, (x,), input_names=["x"], output_names=["logits"],
                   dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    assert model.training  # the mode is restored after the export (done in eval)
    model.eval()
    for n in (1, 2, 7):  # a dynamic batch axis
        xn = ember.randn(n, *shape)
        (y,) = _run(blob, {"x": xn.numpy()})
        np.testing.assert_allclose(y, model(xn).detach().numpy(), rtol=1e-5, atol=1e-5)
    proto = onnx.load_from_string(blob)
    assert [i.name for i in proto.graph.input] == ["x"]
    assert [o.name for o in proto.graph.output] == ["logits"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert proto.opset_import[0].version == 18
    names = {i.name for i in proto.graph.initializer}
    assert {k for k, _ in model.named_parameters()} <= names


def test_more_layers_agree_and_eval_semantics(tmp_path):
    ember.manual_seed(1)
    model = _Layers()
    x = ember.randn(3, 3, 8, 8)
    model(x)  # a training step moves the BatchNorm running statistics away from 0/1
    path = tmp_path / "layers.onnx"
    ember.onnx.export(model, x, str(path), opset_version=17)
    model.eval()
    outs = _run(str(path), {"input": x.numpy()})
    for got, want in zip(outs, model(x)):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-4, atol=1e-5)
    proto = onnx.load(str(path))
    ops = {n.op_type for n in proto.graph.node}
    assert {"Conv", "BatchNormalization", "LeakyRelu", "AveragePool", "Elu", "MaxPool",
            "GlobalAveragePool", "Flatten", "Gemm", "Tanh", "LayerNormalization", "Sigmoid",
            "LogSoftmax", "Softmax", "Mul", "Add", "Sub"} <= ops
    assert [o.name for o in proto.graph.output] == ["output.0", "output.1"]
    assert proto.opset_import[0].version == 17


def test_unsupported_op_is_named():
    class Exp(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(x.exp())
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="ExpBackward0"):
        _export(Exp(), ember.randn(2, 3))
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="return_indices"):
        _export(nn.MaxPool2d(2, return_indices=True), ember.randn(1, 1, 4, 4))
    with pytest.raises(ember.onnx.UnsupportedOperatorError, match="padding_mode='reflect'"):
        _export(nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"), ember.randn(1, 1, 4, 4))
    with pytest.raises(ValueError, match="opset_version"):
        _export(nn.ReLU(), ember.randn(2), opset_version=9)


def test_list_dynamic_axes_and_constants():
    class M(nn.Module):
        def forward(self, x):
            return F.relu(x) + ember.ones(4)
    blob = _export(M(), ember.randn(2, 4), dynamic_axes={"input": [0]})
    proto = onnx.load_from_string(blob)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == \
        "input_dynamic_axes_1"
    x = ember.randn(5, 4)
    (y,) = _run(blob, {"input": x.numpy()})
    np.testing.assert_allclose(y, (x.relu() + 1).numpy(), rtol=1e-6)
