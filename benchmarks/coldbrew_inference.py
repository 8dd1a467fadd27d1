"""Cold Brew: student inference on 10,000 cold nodes versus the teacher's full-graph inference.

The student needs only node features; the GCN+SE teacher needs the whole graph (and cannot score a node
that was not in it at training time). Both are timed side by side in this process on the same CPU
threads, and the ratio is printed.

    python benchmarks/coldbrew_inference.py [--data-dir ../shared/data/planetoid] [--threads 1]

Without Planetoid files it uses the embedded synthetic graph.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from iclr22.coldbrew.experiment import load_planetoid_graph
from iclr22.coldbrew.splits import degree_split, label_split
from iclr22.coldbrew.estimator import ColdBrew
from iclr22.coldbrew.graph import validate_graph
from iclr22.coldbrew.synthetic import make_cold_start_graph


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "planetoid"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cold-nodes", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    if (Path(args.data_dir) / "ind.cora.x").is_file():
        graph, name = load_planetoid_graph(args.data_dir, "cora"), "Cora"
    else:
        graph, name = make_cold_start_graph(num_nodes=2000, seed=0), "synthetic"
    split = degree_split(graph.edge_index, graph.num_nodes, "paper", 0.1, seed=0)
    train, val, _ = label_split(graph.y, "first_n")
    # Short schedules: the timing does not depend on how well the weights are trained.
    model = ColdBrew(epochs=50, student_epochs=50, patience=None, seed=0)
    model.fit(graph.x, graph.y, edge_index=split.edge_index, train_mask=train, val_mask=val)

    # 10,000 brand-new nodes: real feature rows with a few words flipped, so none is a copy of a graph node.
    rng = np.random.default_rng(0)
    cold = graph.x[rng.integers(0, graph.num_nodes, args.cold_nodes)].copy()
    flips = rng.random(cold.shape) < 0.002
    cold[flips] = 1.0 - cold[flips]

    data = validate_graph(graph.x, split.edge_index, graph.y, train, val)
    teacher, features, adjacency = model.teacher_, data.gnn_features(), data.adjacency()

    def teacher_inference() -> None:
        with torch.no_grad():
            teacher(features, adjacency).argmax(1)

    student_s = best_of(lambda: model.predict(cold), args.repeats)
    teacher_s = best_of(teacher_inference, args.repeats)
    print(f"dataset: {name} ({graph.num_nodes} nodes, {data.edge_index.shape[1]} directed edges), torch threads: {args.threads}")
    print(f"student, {args.cold_nodes} cold nodes (features only):  {student_s * 1000:8.1f} ms  ({args.cold_nodes / student_s:,.0f} nodes/s)")
    print(f"teacher, full-graph inference ({graph.num_nodes} nodes):     {teacher_s * 1000:8.1f} ms  ({graph.num_nodes / teacher_s:,.0f} nodes/s)")
    print(f"ratio student time / teacher time: {student_s / teacher_s:.2f}  "
          f"(per node: {(student_s / args.cold_nodes) / (teacher_s / graph.num_nodes):.2f}x the teacher's cost)")
    print(f"10,000 cold nodes under 1 s: {'yes' if student_s < 1.0 else 'NO'}")


if __name__ == "__main__":
    main()
