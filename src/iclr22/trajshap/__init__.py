"""Trajectory feature attribution with Shapley values (Makansi et al., ICLR 2022, "You Mostly Walk Alone").

Which inputs does a trajectory predictor actually use? The players are the target's past, each
neighbour and a random agent from another scene; the value of a coalition is the predictor's
performance on the ground truth with only those inputs present.

    >>> from iclr22.trajshap import TrajectoryPredictor, TrajectoryShapley, build_samples
    >>> model = TrajectoryPredictor("interaction").fit(train, X_val=val)
    >>> attributions = TrajectoryShapley(model, metric="ade").fit(train).explain(test)
    >>> attributions.summary()

This module holds only the spec and lazy re-exports; nothing heavy is imported until used.
"""

from __future__ import annotations

from iclr22.core.registry import DatasetSpec, Demo, MethodSpec, Reproduction, lazy_exports

SPEC = MethodSpec(
    name="trajshap",
    paper="Makansi et al., You Mostly Walk Alone: Analyzing Feature Attribution in Trajectory Prediction (ICLR 2022)",
    entry="iclr22.trajshap.experiment:EXPERIMENT",
    datasets=(
        DatasetSpec("sim", "seeded crowd simulator: a social regime (leaders, followers, avoidance) and an alone regime"),
        DatasetSpec("ethucy", "ETH/UCY pedestrians, leave-one-scene-out (--set test_scene=eth|hotel|univ|zara1|zara2)", "trajectories/ethucy"),
        DatasetSpec("trajfiles", "your files: DIR/train/*.txt, DIR/test/*.txt with rows 'frame agent_id x y [type]'", "trajectories/trajfiles", user_files=True),
    ),
    # the paper's quantity: how much of the interaction model's performance the neighbours earn
    headline=("interaction", "shap_interaction"),
    higher_is_better=True,
    # the paper's point as one comparison: the same interaction model, trained and explained on data where agents
    # follow each other (social) and where they ignore each other (alone). Setting and reasons: docs/methods/trajshap.md
    # ("Demo"); cv and lstm are left out, their neighbour attribution is 0 by construction.
    demo=Demo(
        model="interaction",
        baseline="interaction_alone",
        metric="shap_interaction",
        claim="the interaction model's neighbours earn a clearly positive Shapley value (metres of minADE gained) where "
              "followers copy their leader's path (social regime), and about none where agents ignore each other (alone regime)",
        overrides={"models": "interaction", "epochs": 20, "sim_train_scenes": 30, "sim_test_scenes": 5, "max_train_samples": 0,
                   "hidden": 64, "shapley_samples": 200, "banzhaf": False},
        quick=True,
        runs=1,
        tolerance=0.02,
    ),
    verbs="iclr22.trajshap.verbs:VERBS",
    reproductions=(
        # the embedded simulator, default options: both regimes, so both outcomes of the paper are recorded
        Reproduction("sim", runs=1, label="sim"),
        # ETH/UCY records: 20 epochs with early stopping (patience 10), as recorded before the defaults changed
        Reproduction("ethucy", runs=1, overrides={"test_scene": "eth", "max_train_samples": 20000, "epochs": 20, "patience": 10}, label="ethucy-eth"),
        Reproduction("ethucy", runs=1, overrides={"test_scene": "zara1", "max_train_samples": 20000, "epochs": 20, "patience": 10}, label="ethucy-zara1"),
    ),
)

_EXPORTS = {
    "TrajectoryShapley": "estimator",
    "TrajectoryPredictor": "estimator",
    "Attributions": "estimator",
    "trajectory_shapley": "estimator",
    "exact_shapley": "shapley",
    "exact_banzhaf": "shapley",
    "permutation_shapley": "shapley",
    "sampled_banzhaf": "shapley",
    "Estimate": "shapley",
    "Prediction": "model",
    "trajectory_errors": "model",
    "ConstantVelocity": "model",
    "LSTMPredictor": "model",
    "InteractionPredictor": "model",
    "SceneBatch": "scenes",
    "build_samples": "scenes",
    "build_predictor": "model",
    "simulate_scenes": "synthetic",
    "write_scene": "synthetic",
    "fit_predictor": "train",
    "evaluate_predictor": "train",
    "position_scale": "train",
}

__all__ = ["SPEC", *_EXPORTS]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
