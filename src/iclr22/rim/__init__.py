"""RIM — Recurrent Intensity Modeling (Ma, Liu, Deoras; ICLR 2022): recommendation and marketing from one score.

Fit a next-item GRU p(item | user) and a user-activity intensity λ(user) (Hawkes–Poisson) on an event log, then
score λ(user)·p(item | user): ``RIM().fit(events).target(items, per_item=C)`` lists the users to target for each
item now (UserRec), ``recommend(k)`` the items for each user (ItemRec), both optionally under exposure caps.
Files: ``train.py`` (GRU training, simple intensities), ``hawkes.py`` (Hawkes, Hawkes–Poisson), ``estimator.py``
(:class:`RIM`, :func:`target_users`), ``matching.py`` (top-k, greedy and dual allocation), ``metrics.py``,
``baselines.py``, ``synthetic.py``, ``figures.py``, ``experiment.py``, ``verbs.py``.

This module holds only the registry entry and lazy re-exports: importing it loads no torch.
"""

from __future__ import annotations

from iclr22.core.registry import DatasetSpec, Demo, MethodSpec, Reproduction, lazy_exports

SPEC = MethodSpec(
    name="rim",
    paper="Ma et al., Bridging Recommendation and Marketing via Recurrent Intensity Modeling (ICLR 2022)",
    entry="iclr22.rim.experiment:EXPERIMENT",
    datasets=(
        DatasetSpec("synthetic", "simulated users with different activity rates, bursts and tastes (generated, seeded)"),
        DatasetSpec("movielens", "MovieLens folder: u.data (ML-100K) or ratings.csv; every rating is an event", "recsys/ml-100k"),
        DatasetSpec("csv", "your events: --data-dir DIR with DIR/events.csv (header user,item,timestamp)", user_files=True),
    ),
    extra="rim",
    headline=("rim", "userrec_prec"),
    higher_is_better=True,
    reproductions=(Reproduction("movielens", runs=3, label="ml-100k"),),
    verbs="iclr22.rim.verbs:VERBS",
    # setting chosen before the run, reasons on docs/methods/rim.md ("Demo"); tolerance ≈ one standard error of
    # UserRec precision over ~1,500 slots
    demo=Demo(
        model="rim", baseline="gru", metric="userrec_prec",
        claim="the intensity makes UserRec scores comparable across users: RIM (GRU x Hawkes-Poisson) targets better than the GRU alone",
        overrides={"num_users": 1200, "num_items": 300, "epochs": 10, "hidden": 64, "num_decays": 50,
                   "models": "pop,gru,hawkes_poisson,rim"},
        quick=True, runs=1, tolerance=0.5,
    ),
)

_EXPORTS = {
    "RIM": "estimator",
    "target_users": "estimator",
    "as_interactions": "estimator",
    "GRUNextItem": "model",
    "train_gru": "train",
    "fit_hawkes": "hawkes",
    "fit_hawkes_poisson": "hawkes",
    "dual_allocate": "matching",
    "greedy_allocate": "matching",
    "evaluate_assigned": "metrics",
    "simulate_events": "synthetic",
}

__all__ = ["SPEC", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
