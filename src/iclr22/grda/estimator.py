"""The public estimator of GRDA, :class:`GRDA`, and its functional entry point :func:`fit_grda`.

``GRDA(...).fit(X, y, domain, graph)`` adapts from the labelled source domains to every domain of the graph;
``predict(X, domain)`` serves any of them. The estimators follow the toolkit's contract
(:mod:`iclr22.core.estimator`): ``__init__`` only stores, ``fit`` checks and returns ``self``, learned state
ends in ``_``, ``save`` / ``load`` write a folder without pickle. The algorithm itself is in
:mod:`iclr22.grda.train`; the paper's baselines run through :class:`~iclr22.grda.baselines.AdversarialAdapter`.
The reason this file is longer than 500 lines: the estimator checks its inputs (arrays, labels of the source
domains, the graph, domain indices) with messages that say what is wrong and where, before any training.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.estimator import Estimator
from iclr22.core.device import torch_threads
from iclr22.core.validation import as_numpy, check_array
from iclr22.grda.graph import DomainGraphWarning, as_adjacency, graph_warnings
from iclr22.grda.train import (
    Networks,
    StepSettings,
    build_networks,
    fit_domain_embedding,
    make_optimizers,
    train,
)

__all__ = ["GRDA", "fit_grda"]

#: The file inside ``checkpoint_dir`` that ``fit`` resumes from and saves to.
CHECKPOINT_FILE = "checkpoint.pt"


class GRDA(Estimator):
    """Graph-Relational Domain Adaptation (Xu et al., ICLR 2022), scikit-learn style.

    ``fit`` learns from every domain's inputs, the labels of the source domains and the domain graph;
    ``predict`` then serves any domain of the graph. Training follows the official toy code: every step
    draws ``batch_per_domain`` samples of every domain; Adam (β = 0.9, 0.999) for E, F and D; learning
    rates halve every ``lr_half_life`` epochs; networks as in :mod:`iclr22.grda.model`. The defaults are the
    settings that learn (the paper's update, PyTorch's init, a 10x faster D); the official code's
    ``init="official"`` with ``lr_disc=None`` stays selectable but leaves the graph discriminator at chance.

    Args:
        task: Classification (NLL on log(softmax + 1e-4)) or regression (MSE).
        hidden: Width nh of every network (official 512).
        domain_index: How the domain index u is made: auto (the given domain_embedding if any, else
            pretrained), given, pretrained (fit_domain_embedding on the graph, then fixed), joint (learned
            with E plus the graph reconstruction loss) or onehot (the domain id, no graph information).
        index_dim: Dimension of a pre-trained or joint domain index (official nt = 2).
        disc_dim: Output dimension of the graph discriminator (official nd_out = 2).
        lambda_adv: λ, the weight of the adversarial term in the encoder's loss (official lambda_gan).
        lr: Adam learning rate of E and F (official lr_e).
        lr_disc: Adam learning rate of D; None = lr (the official lr_d = 1e-4). The default 1e-3 with
            init="pytorch" lets D learn; the official pair leaves it at chance (docs: deviations).
        lr_index: Adam learning rate of the domain-index network, when pre-trained and when learned jointly
            (official lr_g = 1e-4).
        epochs: Training epochs (official 500).
        batch_per_domain: Samples of each domain per step (official 10).
        num_sampled_domains: Domains in each discriminator loss; None or 0 = max(2, round(2D/3)), the
            official 10 of 15.
        update: D's update: paper (D descends ∇L_d only, the paper's min-max) or official (the official
            code's order, in which D's gradient is (1 − λ)∇L_d, so D never trains at λ = 1; GRDA and DANN).
        lr_half_life: Epochs over which the learning rates halve (ExponentialLR, γ = 0.5^(1/100)).
        init: Weight initialisation: pytorch (PyTorch's default nn.Linear init) or official (the official
            code's N(0, 0.01²) weights, zero biases).
        pairing: Which samples the graph discriminator pairs: random (each domain's own permutation,
            label-free) or aligned (the official code's k-th sample of every domain, which on class-sorted
            files pairs same-class samples).
        num_threads: Torch intra-op threads during fit and predict (None: leave as is); one is fastest for
            these small networks on a shared CPU.
        standardize: Standardise inputs with one global mean and std over all samples given to fit
            (official preprocessing).
        mdd_lambda_src: MDD's weight of the source agreement term.
        mdd_lambda_tgt: MDD's weight of the target disagreement term.
        checkpoint_every: Save a resumable checkpoint every this many epochs (0: only at the end, when
            checkpoint_dir is set).
        checkpoint_dir: Resume from / save to ``checkpoint.pt`` in this folder (weights-only); None: no
            checkpoint.
        seed: Seed of the initialisation and of all sampling.
        device: Where the networks and tensors live ("cpu", "cuda").
        verbose: Progress bar: None on a terminal only, True always, False never.

    Attributes:
        encoder_, predictor_, discriminator_, domain_index_: The trained networks.
        adjacency_: The ``[D, D]`` domain graph. source_domains_, target_domains_: Domain ids.
        domain_embedding_: ``[D, k]`` domain indices used (``None`` for joint / one-hot).
        x_mean_, x_std_: Standardisation. classes_ / n_outputs_: Label space.
        history_: Per-epoch mean losses (and ``eval`` when ``eval_set`` was given: the mean over target domains
            of :meth:`score_domains`, accuracy in percent or MSE).

    Example:
        >>> model = GRDA(epochs=200).fit(X, y, domain, adjacency, source_domains=[0, 3])
        >>> model.predict(X_new, domain_new)      # any domain of the graph
    """

    _fitted_attribute = "history_"

    def __init__(
        self,
        *,
        task: Literal["classification", "regression"] = "classification",
        hidden: int = 512,
        domain_index: Literal["auto", "given", "pretrained", "joint", "onehot"] = "auto",
        index_dim: int = 2,
        disc_dim: int = 2,
        lambda_adv: float = 1.0,
        lr: float = 1e-4,
        lr_disc: float | None = 1e-3,
        lr_index: float = 1e-4,
        epochs: int = 500,
        batch_per_domain: int = 10,
        num_sampled_domains: int | None = None,
        update: Literal["paper", "official"] = "paper",
        lr_half_life: float = 100.0,
        init: Literal["pytorch", "official"] = "pytorch",
        pairing: Literal["random", "aligned"] = "random",
        num_threads: int | None = 1,
        standardize: bool = True,
        mdd_lambda_src: float = 0.5,
        mdd_lambda_tgt: float = 0.5,
        checkpoint_every: int = 0,
        checkpoint_dir: str | Path | None = None,
        seed: int = 0,
        device: str = "cpu",
        verbose: bool | None = None,
    ) -> None:
        self.task = task
        self.hidden = hidden
        self.domain_index = domain_index
        self.index_dim = index_dim
        self.disc_dim = disc_dim
        self.lambda_adv = lambda_adv
        self.lr = lr
        self.lr_disc = lr_disc
        self.lr_index = lr_index
        self.epochs = epochs
        self.batch_per_domain = batch_per_domain
        self.num_sampled_domains = num_sampled_domains
        self.update = update
        self.lr_half_life = lr_half_life
        self.init = init
        self.pairing = pairing
        self.num_threads = num_threads
        self.standardize = standardize
        self.mdd_lambda_src = mdd_lambda_src
        self.mdd_lambda_tgt = mdd_lambda_tgt
        self.checkpoint_every = checkpoint_every
        self.checkpoint_dir = checkpoint_dir
        self.seed = seed
        self.device = device
        self.verbose = verbose

    @property
    def _method(self) -> str:
        """The adaptation method trained (``"grda"``; :class:`AdversarialAdapter` chooses)."""
        return "grda"

    # ------------------------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        """Types and choices of every parameter, then ranges.

        Raises:
            ConfigError: naming the parameter and what it takes.
        """
        super()._check_params()
        if type(self) is not GRDA:  # a subclass takes GRDA's parameters through **params: check them too
            _check_annotations(self, GRDA)
        for name in ("hidden", "index_dim", "disc_dim", "batch_per_domain"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{type(self).__name__}: {name} must be a positive integer, got {getattr(self, name)}")
        for name in ("epochs", "checkpoint_every"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{type(self).__name__}: {name} must be non-negative, got {getattr(self, name)}")
        for name in ("lr", "lr_index", "lr_half_life"):
            if not float(getattr(self, name)) > 0:
                raise ConfigError(f"{type(self).__name__}: {name} must be positive, got {getattr(self, name)}")
        if not self.lambda_adv >= 0:
            raise ConfigError(f"{type(self).__name__}: lambda_adv must be non-negative, got {self.lambda_adv}")

    def _check_inputs(self, X: Any, domain: Any, where: str, against_fitted_graph: bool = True) -> tuple[np.ndarray, np.ndarray]:
        x = as_numpy(X, f"{where}: X")
        x = check_array(x[:, None] if x.ndim == 1 else x, f"{where}: X", ndim=2, dtype=np.float32, min_rows=int(where == "fit"))
        d = as_numpy(domain, f"{where}: domain")
        if d.shape != (x.shape[0],):
            raise DataError(f"{where}: domain must have one id per row of X ({x.shape[0]}), found shape {d.shape}")
        if d.dtype.kind == "f":
            if not np.all(np.isfinite(d)) or not np.all(d == np.round(d)):
                raise DataError(f"{where}: domain ids must be whole numbers")
        elif d.dtype.kind not in "iu":
            raise DataError(f"{where}: domain ids must be integers, found dtype {d.dtype}")
        d = d.astype(np.int64)
        if against_fitted_graph and hasattr(self, "adjacency_"):
            self._check_domain_ids(d, self.adjacency_.shape[0], where)
        return x, d

    @staticmethod
    def _check_domain_ids(domain: np.ndarray, num_domains: int, where: str) -> None:
        bad = (domain < 0) | (domain >= num_domains)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{where}: domain id {int(domain[row])} (row {row}) has no node in the domain graph "
                f"(nodes are 0..{num_domains - 1})"
            )

    def _labels(self, y: Any, domain: np.ndarray, sources: np.ndarray | None, num_domains: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Labels of the source samples, and the source / target domain ids.

        Missing labels are ``NaN`` (regression) or ``NaN`` / negative ids (classification); target
        domains' labels are ignored, so they may be anything.
        """
        labels = np.asarray(y)
        if labels.shape[:1] != (domain.shape[0],):
            raise DataError(f"fit: y must have one entry per row of X ({domain.shape[0]}), found shape {labels.shape}")
        if labels.dtype.kind not in "biuf":
            raise DataError(f"fit: y must be numeric, found dtype {labels.dtype}")
        if self.task == "classification":
            if labels.ndim != 1:
                raise DataError(f"fit: classification labels must be a 1-D array of class ids, found shape {labels.shape}")
            as_float = labels.astype(np.float64)
            present = np.isfinite(as_float) & (as_float >= 0)
            if np.any(present & (as_float != np.round(as_float))):
                raise DataError("fit: classification labels must be whole class ids (use task='regression' for values)")
        else:
            as_float = labels.astype(np.float64)
            present = np.isfinite(as_float).reshape(len(as_float), -1).all(axis=1)
        domains_with_data = np.unique(domain)
        if sources is None:
            # Infer the sources: domains whose samples are all labelled.
            labelled = [d for d in domains_with_data if present[domain == d].all()]
            sources = np.asarray(labelled, dtype=np.int64)
        else:
            sources = np.unique(np.asarray(sources).reshape(-1))
            if sources.dtype.kind == "f" and not np.all(sources == np.round(sources)):
                raise DataError("fit: source_domains must be domain ids")
            sources = sources.astype(np.int64)
            self._check_domain_ids(sources, num_domains, "fit: source_domains")
        if sources.size == 0:
            raise DataError(
                "fit: no source domain — give source_domains, or labels for every sample of at least one domain "
                "(missing labels are NaN, or negative class ids)"
            )
        for d in sources:
            members = domain == d
            if not members.any():
                raise DataError(f"fit: source domain {int(d)} has no samples")
            missing = int((~present[members]).sum())
            if missing:
                labelled_targets = int(present[~np.isin(domain, sources)].sum())
                extra = f"; labels were given for {labelled_targets} target-domain samples instead" if labelled_targets else ""
                raise DataError(
                    f"fit: source domain {int(d)} has {missing} of {int(members.sum())} samples without a label "
                    f"(labels must be given for the source domains{extra})"
                )
        targets = np.setdiff1d(np.arange(num_domains), sources)
        return as_float, sources, targets

    # ------------------------------------------------------------------------------------------ fit
    def fit(
        self,
        X: Any,
        y: Any,
        domain: Any,
        graph: Any,
        source_domains: Sequence[int] | None = None,
        domain_embedding: Any = None,
        eval_set: tuple[Any, Any, Any] | None = None,
        eval_every: int = 20,
    ) -> GRDA:
        """Adapt from the labelled source domains to every other domain of the graph.

        Args:
            X: ``[N, F]`` inputs of all domains (sources and targets).
            y: ``[N]`` class ids or ``[N]`` / ``[N, m]`` values; entries of target domains are ignored
                (missing labels: NaN, or a negative class id).
            domain: ``[N]`` domain id of every row, ``0..D-1``.
            graph: The domain graph: a ``[D, D]`` symmetric 0/1 adjacency, or an ``[E, 2]`` edge list
                (then every domain id must appear in ``domain`` or an edge). Build one from similarities
                with :func:`~iclr22.grda.graph.adjacency_from_similarity`.
            source_domains: Labelled domains; inferred from the labels when ``None``.
            domain_embedding: ``[D, k]`` pre-computed domain indices (e.g. the official ``g_encode``).
            eval_set: ``(X, y, domain)`` scored every ``eval_every`` epochs into ``history_`` (the
                official code's test every 20 epochs); on target domains this is a diagnostic only.
            eval_every: Epochs between evaluations.

        Returns:
            ``self``.

        Raises:
            ConfigError: a parameter of the wrong type, outside its choices or its range.
            DataError: malformed arrays, a graph that is not square / symmetric / 0-1, a domain id with
                no node, no source domain, source domains without labels.
        """
        self._check_params()
        if hasattr(self, "history_"):
            del self.history_  # a refit that fails must not look fitted
        x, domain_ids = self._check_inputs(X, domain, "fit", against_fitted_graph=False)
        is_edge_list = np.ndim(graph) == 2 and np.shape(graph)[1] == 2 and np.shape(graph)[0] != 2
        # An edge list does not say how many nodes there are: every id in ``domain`` must be one.
        adjacency = as_adjacency(graph, int(domain_ids.max()) + 1 if is_edge_list else None, "fit: graph")
        num_domains = adjacency.shape[0]
        self._check_domain_ids(domain_ids, num_domains, "fit")
        empty = np.setdiff1d(np.arange(num_domains), domain_ids)
        if empty.size:
            raise DataError(f"fit: domain(s) {empty.tolist()} of the graph have no samples; every node needs data to adapt to")
        labels, sources, targets = self._labels(y, domain_ids, source_domains, num_domains)
        if self._method in ("adda", "mdd") and targets.size == 0:
            raise DataError(f"fit: {self._method} needs at least one unlabelled target domain")
        if self._method == "grda":  # the baselines ignore the graph: only GRDA loses its point without edges
            for reason in graph_warnings(adjacency, sources):
                warnings.warn(f"GRDA.fit: {reason}", DomainGraphWarning, stacklevel=2)

        self.adjacency_ = adjacency
        self.num_domains_ = num_domains
        self.source_domains_, self.target_domains_ = sources, targets
        self.n_features_in_ = x.shape[1]
        if self.standardize:
            self.x_mean_ = x.mean(axis=0).astype(np.float32)
            std = x.std(axis=0).astype(np.float32)
            self.x_std_ = np.where(std > 0, std, 1.0).astype(np.float32)
        else:
            self.x_mean_ = np.zeros(x.shape[1], dtype=np.float32)
            self.x_std_ = np.ones(x.shape[1], dtype=np.float32)

        source_rows = np.isin(domain_ids, sources)
        if self.task == "classification":
            self.classes_ = np.unique(labels[source_rows]).astype(np.int64)
            if self.classes_.size < 2:
                raise DataError(f"fit: the source domains hold a single class ({self.classes_.tolist()}); need at least two")
            class_of = {c: i for i, c in enumerate(self.classes_)}
            encoded = np.full(len(labels), -1, dtype=np.int64)
            encoded[source_rows] = [class_of[int(v)] for v in labels[source_rows]]
            y_train = torch.as_tensor(encoded)
            self.out_dim_ = self.classes_.size
        else:
            values = labels.reshape(len(labels), -1)
            self.n_outputs_ = values.shape[1]
            y_train = torch.as_tensor(np.nan_to_num(values, nan=0.0), dtype=torch.float32)
            self.out_dim_ = self.n_outputs_

        self.domain_embedding_ = self._resolve_domain_index(domain_embedding, adjacency)
        nets = self._build()

        device = torch.device(self.device)
        x_train = torch.as_tensor(self._standardized(x), device=device)
        y_train = y_train.to(device)
        source = torch.zeros(num_domains, dtype=torch.bool, device=device)
        source[torch.as_tensor(sources, device=device)] = True
        num_sampled = self.num_sampled_domains or max(2, round(2 * num_domains / 3))
        settings = StepSettings(
            method=self._method,
            task=self.task,
            lambda_adv=float(self.lambda_adv),
            update=self.update,
            adjacency=adjacency,
            adjacency_t=torch.as_tensor(adjacency, device=device),
            source=source,
            num_sampled=min(num_sampled, num_domains),
            mdd_lambda_src=self.mdd_lambda_src,
            mdd_lambda_tgt=self.mdd_lambda_tgt,
        )
        optimizers, schedulers = make_optimizers(nets, self.lr, self.lr_disc, self.lr_index, self.lr_half_life)
        evaluate = None
        if eval_set is not None:
            ex, ed = self._check_inputs(eval_set[0], eval_set[2], "fit: eval_set")
            eval_data = (ex, np.asarray(eval_set[1]), ed)
            evaluate = lambda: self._metric(*eval_data)  # noqa: E731
        checkpoint = None if self.checkpoint_dir is None else Path(self.checkpoint_dir) / CHECKPOINT_FILE
        if checkpoint is not None:
            checkpoint.parent.mkdir(parents=True, exist_ok=True)
        self.history_ = train(
            nets, settings, x_train, y_train, domain_ids,
            epochs=self.epochs, batch_per_domain=self.batch_per_domain, pairing=self.pairing,
            optimizers=optimizers, schedulers=schedulers, seed=self.seed,
            evaluate=evaluate, eval_every=eval_every,
            checkpoint_path=checkpoint, checkpoint_every=self.checkpoint_every,
            num_threads=self.num_threads, verbose=self.verbose,
        )
        return self

    def _resolve_domain_index(self, domain_embedding: Any, adjacency: np.ndarray) -> np.ndarray | None:
        mode = self.domain_index
        if mode == "auto":
            mode = "given" if domain_embedding is not None else "pretrained"
        self.domain_index_mode_ = mode
        if mode == "given":
            if domain_embedding is None:
                raise DataError("fit: domain_index='given' needs domain_embedding ([D, k] array)")
            embedding = np.asarray(domain_embedding, dtype=np.float32)
            if embedding.ndim != 2 or embedding.shape[0] != adjacency.shape[0]:
                raise DataError(f"fit: domain_embedding must be [D={adjacency.shape[0]}, k], found shape {embedding.shape}")
            if not np.all(np.isfinite(embedding)):
                raise DataError("fit: domain_embedding holds NaN or infinite values")
            return embedding
        if mode == "pretrained":
            return fit_domain_embedding(adjacency, self.index_dim, lr=self.lr_index, seed=self.seed)
        if mode == "onehot":
            return np.eye(adjacency.shape[0], dtype=np.float32)
        return None  # joint

    def _build(self) -> Networks:
        """Fresh networks for the fitted data's shapes, on ``device`` (the same ``seed`` gives the same weights)."""
        nets = build_networks(
            self._method, self.task, self.num_domains_, self.n_features_in_, self.out_dim_, self.hidden,
            self.index_dim, self.disc_dim, self.domain_embedding_, self.init, self.seed,
        )
        nets.module_dict().to(torch.device(self.device))
        self.domain_index_, self.encoder_, self.predictor_ = nets.index, nets.encoder, nets.predictor
        self.discriminator_ = nets.discriminator
        return nets

    def _networks(self) -> Networks:
        return Networks(self.domain_index_, self.encoder_, self.predictor_, self.discriminator_)

    # ----------------------------------------------------------------------------------- save / load
    def _fitted_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "networks": self._networks().module_dict().state_dict(),
            "adjacency": self.adjacency_,
            "num_domains": self.num_domains_,
            "source_domains": self.source_domains_,
            "target_domains": self.target_domains_,
            "n_features_in": self.n_features_in_,
            "out_dim": self.out_dim_,
            "x_mean": self.x_mean_,
            "x_std": self.x_std_,
            "domain_embedding": self.domain_embedding_,
            "domain_index_mode": self.domain_index_mode_,
            "history": self.history_,
        }
        if self.task == "classification":
            state["classes"] = self.classes_
        else:
            state["n_outputs"] = self.n_outputs_
        return state

    def _restore_fitted_state(self, state: dict[str, Any], folder: Path) -> None:
        self.adjacency_ = state["adjacency"]
        self.num_domains_ = int(state["num_domains"])
        self.source_domains_, self.target_domains_ = state["source_domains"], state["target_domains"]
        self.n_features_in_, self.out_dim_ = int(state["n_features_in"]), int(state["out_dim"])
        self.x_mean_, self.x_std_ = state["x_mean"], state["x_std"]
        self.domain_embedding_ = state["domain_embedding"]
        self.domain_index_mode_ = state["domain_index_mode"]
        if self.task == "classification":
            self.classes_ = state["classes"]
        else:
            self.n_outputs_ = int(state["n_outputs"])
        modules = self._build().module_dict()
        modules.load_state_dict(state["networks"])
        modules.train(False)
        self.history_ = list(state["history"])

    # ----------------------------------------------------------------------------------- inference
    def _standardized(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.x_mean_) / self.x_std_).astype(np.float32)

    @torch.no_grad()
    def _forward(self, X: Any, domain: Any, where: str) -> tuple[Tensor, Tensor]:
        x, d = self._check_inputs(X, domain, where)
        if x.shape[1] != self.n_features_in_:
            raise DataError(f"{where}: X has {x.shape[1]} features, the model was fitted on {self.n_features_in_}")
        modules = self._networks().module_dict()
        modules.train(False)
        device = torch.device(self.device)
        xt = torch.as_tensor(self._standardized(x), device=device)
        dt = torch.as_tensor(d, device=device)
        with torch_threads(self.num_threads):
            e = self.encoder_(xt, self.domain_index_(dt))
            return e, self.predictor_(e)

    def transform(self, X: Any, domain: Any) -> np.ndarray:
        """The encodings e = E(x, u_domain), ``[N, hidden]``."""
        self._check_is_fitted("transform")
        return self._forward(X, domain, "transform")[0].cpu().numpy()

    def predict(self, X: Any, domain: Any) -> np.ndarray:
        """Class labels (classification) or values (regression; ``[N]`` for one output) for any domain of the graph."""
        self._check_is_fitted("predict")
        return self._predict(X, domain, "predict")

    def _predict(self, X: Any, domain: Any, where: str) -> np.ndarray:
        out = self._forward(X, domain, where)[1].cpu().numpy()
        if self.task == "classification":
            return self.classes_[out.argmax(-1)]
        return out[:, 0] if out.shape[1] == 1 else out

    def predict_proba(self, X: Any, domain: Any) -> np.ndarray:
        """Class probabilities ``[N, C]`` (softmax of F, without the official +1e-4 smoothing)."""
        self._check_is_fitted("predict_proba")
        if self.task != "classification":
            raise ConfigError("predict_proba is for task='classification'")
        log_p = self._forward(X, domain, "predict_proba")[1]
        probs = (log_p.exp() - 1e-4).clamp_min(0)
        return (probs / probs.sum(-1, keepdim=True)).cpu().numpy()

    def _metric(self, X: Any, y: Any, domain: Any) -> float:
        """Mean over the target domains of per-domain accuracy (%) or per-sample summed squared error."""
        per_domain = self._score_domains(X, y, domain)
        targets = [per_domain[int(d)] for d in self.target_domains_ if int(d) in per_domain]
        return float(np.mean(targets)) if targets else float("nan")

    def score_domains(self, X: Any, y: Any, domain: Any) -> dict[int, float]:
        """Per-domain score, in the unit of :meth:`score`: accuracy in percent (0–100, classification) or the
        mean over samples of the squared error summed over outputs (regression; the TPT-48 "MSE" of the
        paper's lab code; lower is better)."""
        self._check_is_fitted("score it")
        return self._score_domains(X, y, domain)

    def _score_domains(self, X: Any, y: Any, domain: Any) -> dict[int, float]:
        _, d = self._check_inputs(X, domain, "score_domains")
        prediction = self._predict(X, domain, "score_domains")
        truth = np.asarray(y)
        scores: dict[int, float] = {}
        for dom in np.unique(d):
            rows = d == dom
            if self.task == "classification":
                scores[int(dom)] = float((prediction[rows] == truth[rows]).mean() * 100)
            else:
                err = (prediction[rows].reshape(rows.sum(), -1) - truth[rows].reshape(rows.sum(), -1)) ** 2
                scores[int(dom)] = float(err.sum(axis=1).mean())
        return scores

    def score(self, X: Any, y: Any, domain: Any) -> float:
        """One number for all rows given, higher is better, in the unit of :meth:`score_domains` and the reports:
        accuracy in percent (0–100, as the paper reports it; not scikit-learn's fraction) for classification,
        minus the mean over samples of the squared error summed over outputs for regression."""
        self._check_is_fitted("score it")
        prediction = self._predict(X, domain, "score")
        truth = np.asarray(y)
        if self.task == "classification":
            return float((prediction == truth).mean() * 100)
        err = (prediction.reshape(len(truth), -1) - truth.reshape(len(truth), -1)) ** 2
        return -float(err.sum(axis=1).mean())


def _check_annotations(estimator: GRDA, cls: type) -> None:
    """:func:`iclr22.core.options.check_params` against the annotations of ``cls.__init__`` (not ``type(estimator)``'s)."""
    from iclr22.core.options import options_of

    for name, option in options_of(cls, skip=()).items():
        value = getattr(estimator, name)
        checked = option.validate(value, where=f"{type(estimator).__name__}: parameter")
        if checked is not value and type(checked) is not type(value):
            setattr(estimator, name, checked)


def fit_grda(
    X: Any,
    y: Any,
    domain: Any,
    graph: Any,
    source_domains: Sequence[int] | None = None,
    domain_embedding: Any = None,
    **params: Any,
) -> GRDA:
    """Functional entry point: ``GRDA(**params).fit(X, y, domain, graph, source_domains, domain_embedding)``."""
    return GRDA(**params).fit(X, y, domain, graph, source_domains, domain_embedding)
