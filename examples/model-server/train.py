#!/usr/bin/env python3
# Trains the example classifier's releases and writes their weight files (weights/*.json).
# Run by hand only when the weights should change; the build copies the committed files.
# Data: three synthetic flower-like classes of 4 measurements (seeded, so output is stable).
import json, math, os, random, re, sys

LABELS = ["setosa", "versicolor", "virginica"]
MEANS = [(5.0, 3.4, 1.5, 0.25), (5.9, 2.8, 4.3, 1.3), (6.6, 3.0, 5.5, 2.0)]
STD = (0.35, 0.3, 0.45, 0.2)


def dataset(n_per_class, rng):
    data = []
    for c, mean in enumerate(MEANS):
        for _ in range(n_per_class):
            data.append(([rng.gauss(m, s) for m, s in zip(mean, STD)], c))
    rng.shuffle(data)
    return data


def softmax(z):
    top = max(z)
    e = [math.exp(v - top) for v in z]
    s = sum(e)
    return [v / s for v in e]


def forward(layers, x):
    acts = [x]
    for i, layer in enumerate(layers):
        z = [sum(w * a for w, a in zip(row, acts[-1])) + b
             for row, b in zip(layer["weights"], layer["bias"])]
        acts.append(softmax(z) if i == len(layers) - 1 else [max(0.0, v) for v in z])
    return acts


def train(sizes, epochs, lr, rng, data):
    layers = []
    for n_in, n_out in zip(sizes, sizes[1:]):
        scale = math.sqrt(2.0 / n_in)
        rows = [[rng.gauss(0, scale) for _ in range(n_in)] for _ in range(n_out)]
        layers.append({"weights": rows, "bias": [0.0] * n_out})
    for _ in range(epochs):
        for x, y in data:
            acts = forward(layers, x)
            delta = [p - (1.0 if k == y else 0.0) for k, p in enumerate(acts[-1])]
            for i in range(len(layers) - 1, -1, -1):
                layer, a_in = layers[i], acts[i]
                back = [sum(layer["weights"][k][j] * delta[k] for k in range(len(delta)))
                        for j in range(len(a_in))]
                for k, d in enumerate(delta):
                    layer["bias"][k] -= lr * d
                    for j, a in enumerate(a_in):
                        layer["weights"][k][j] -= lr * d * a
                delta = [g if a > 0 else 0.0 for g, a in zip(back, a_in)]
    return layers


def export(layers, release, path):
    out = {"format": "kroll-example-mlp/1", "release": release, "input_name": "x",
           "output_name": "probabilities", "labels": LABELS, "layers": []}
    for i, layer in enumerate(layers):
        out["layers"].append({
            "activation": "softmax" if i == len(layers) - 1 else "relu",
            "weights": [[round(w, 5) for w in row] for row in layer["weights"]],
            "bias": [round(b, 5) for b in layer["bias"]]})
    write_json(out, path)
    return out


def write_json(obj, path):
    # One weight row per line keeps the files readable and their diffs small.
    text = json.dumps(obj, indent=1)
    text = re.sub(r"\[\s*([-0-9.e,\s]+?)\s*\]",
                  lambda m: "[" + re.sub(r"\s+", " ", m.group(1)) + "]", text)
    with open(path, "w") as f:
        f.write(text + "\n")


def accuracy(layers, data):
    ok = sum(1 for x, y in data if max(range(3), key=lambda k: forward(layers, x)[-1][k]) == y)
    return ok / len(data)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "weights")
    rng = random.Random(20260104)
    data, test = dataset(60, rng), dataset(30, rng)
    # 1.0.3: a softmax regression trained briefly; 1.0.4: a 4-8-3 MLP trained longer.
    v3 = train([4, 3], 15, 0.01, rng, data)
    v4 = train([4, 8, 3], 60, 0.01, rng, data)
    export(v3, "1.0.3", os.path.join(outdir, "1.0.3.json"))
    bad = export(v4, "1.0.4", os.path.join(outdir, "1.0.4.json"))
    # 1.0.5 is the bad release: a truncated export whose output layer lost one input column.
    bad["release"] = "1.0.5"
    bad["layers"][1]["weights"] = [row[:-1] for row in bad["layers"][1]["weights"]]
    write_json(bad, os.path.join(outdir, "1.0.5.json"))
    print("accuracy 1.0.3=%.3f 1.0.4=%.3f" % (accuracy(v3, test), accuracy(v4, test)))


if __name__ == "__main__":
    main()
