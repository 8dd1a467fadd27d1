"""RIM's task verbs: ``iclr22 rim fit`` on a user's event log, then ``target`` (UserRec) and ``recommend`` (ItemRec).

``fit`` reads ``events.csv`` (header ``user,item,timestamp``; ids may be strings; timestamps integers such as
unix seconds, in any order), fits :class:`~iclr22.rim.estimator.RIM` and saves it with a ``summary.md``.
``target`` writes, for each item, the users to target now with their scores; ``recommend`` each user's items.
Both take an exposure constraint (``--user-cap`` / ``--item-cap``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.core.verbs import Verb, add_estimator_options, estimator_settings, print_warning, require_out, write_csv, write_summary

__all__ = ["VERBS", "FIT_DEFAULTS", "read_ids"]

#: The paper code's settings, unchanged: they fit a log of 100k events on 2 cores in about a minute.
FIT_DEFAULTS: dict[str, Any] = {}

_EVENTS_HELP = "CSV with header user,item,timestamp (ids: strings or integers; timestamp: an integer such as unix seconds; any order)"


def read_ids(text: str | None, what: str) -> list[str] | None:
    """``None``, a comma-separated list, or a file with one id per line (a first line ``item``/``user`` is a header)."""
    if not text:
        return None
    path = Path(text).expanduser()
    if path.is_file():
        lines = [line.split(",")[0].strip() for line in path.read_text(encoding="utf-8").splitlines()]
        ids = [v for v in lines if v]
        if ids and ids[0] == what:
            ids = ids[1:]
    else:
        ids = [v.strip() for v in text.split(",") if v.strip()]
    if not ids:
        raise DataError(f"{text}: no {what} ids")
    return ids


# ------------------------------------------------------------------------------------------------ fit
def _add_fit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", required=True, metavar="CSV", help=_EVENTS_HELP)
    parser.add_argument("--at", type=float, metavar="TIME", help="the time 'now' to score users at (default: just after the last event)")
    parser.add_argument("--out", required=True, metavar="MODEL", help="model folder (created): the saved RIM and summary.md")
    add_estimator_options(parser)


def _fit(args: argparse.Namespace) -> int:
    from iclr22.data.interactions import load_interactions_csv
    from iclr22.rim.estimator import RIM

    settings = estimator_settings(RIM, args, FIT_DEFAULTS)
    out = require_out(args.out, "model folder")
    data = load_interactions_csv(args.events)
    per_user = np.bincount(data.user, minlength=data.n_users)
    warnings = []
    if (per_user == 1).mean() > 0.5:
        warnings.append(f"{int((per_user == 1).sum())} of {data.n_users} users have one event: their intensity is the "
                        "baseline rate only, and the GRU has no history for them")
    if data.n_items < 2:
        warnings.append("one item only: recommending items is meaningless; targeting users still ranks them by activity")
    for warning in warnings:
        print_warning(warning)
    model = RIM(**settings).fit(data, at=args.at)
    model.save(out)
    t = data.timestamp
    active = np.argsort(-model.intensity_)[:10]
    lines = [
        *(f"**Warning:** {w}." for w in warnings), *([""] if warnings else []),
        f"- events: {args.events} — {len(data)} events, {data.n_users} users, {data.n_items} items, "
        f"timestamps {t.min()} .. {t.max()} (ties kept; order within a tie: file order)",
        f"- scored at: {np.nanmax(model.at_):g}; horizon: {model.horizon_:g} (the scores are expected engagements in the next horizon)",
        f"- intensity: {model.intensity} — λ(user) median {np.median(model.intensity_):.3g}, max {model.intensity_.max():.3g}",
        f"- item model: {model.item_model}" + (f", best held-out next-item NLL {min(h['val_nll'] for h in model.history_):.3f} "
                                               f"(uniform: {np.log(data.n_items):.3f})" if model.history_ else ""),
        "", "## Most active users now (highest λ)", "", "| user | λ(user) | events |", "|---|---|---|",
        *(f"| {data.user_ids[u]} | {model.intensity_[u]:.4g} | {int(per_user[u])} |" for u in active),
        "", "## Settings", "", "- " + ", ".join(f"{k}={v}" for k, v in sorted(model.get_params().items()) if k != "verbose"), "",
        f"Target users: `iclr22 rim target --model {out} --items ITEMS --per-item 10 --out audience.csv`; "
        f"recommend items: `iclr22 rim recommend --model {out} --k 10 --out recommendations.csv`.",
    ]
    write_summary(out / "summary.md", "RIM model", lines)
    if not getattr(args, "quiet", False):
        print(f"fitted RIM on {len(data)} events of {data.n_users} users and {data.n_items} items; wrote {out}")
    return 0


# --------------------------------------------------------------------------------- target / recommend
def _add_serving(parser: argparse.ArgumentParser, userrec: bool) -> None:
    parser.add_argument("--model", required=True, metavar="MODEL", help="a folder written by iclr22 rim fit (or RIM.save)")
    if userrec:
        parser.add_argument("--items", metavar="ITEMS", help="items to find users for: comma-separated ids or a file, one per line (default: all)")
        parser.add_argument("--per-item", type=int, default=10, metavar="C", help="users per item (default 10)")
        parser.add_argument("--user-cap", type=int, metavar="N", help="no user is targeted by more than N items (exposure constraint)")
    else:
        parser.add_argument("--users", metavar="USERS", help="users to recommend to: comma-separated ids or a file (default: all)")
        parser.add_argument("--k", type=int, default=10, help="items per user (default 10)")
        parser.add_argument("--item-cap", type=int, metavar="N", help="no item is shown to more than N users (exposure constraint)")
    parser.add_argument("--method", choices=["greedy", "dual"], default="greedy",
                        help="how a cap is met: greedy (offline, exact) or dual (per-user thresholds, online; caps hold on average)")
    parser.add_argument("--out", required=True, metavar="CSV", help="output CSV (its summary goes next to it, *_summary.md)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def _serve(args: argparse.Namespace, userrec: bool) -> int:
    from iclr22.rim.estimator import RIM

    out = require_out(args.out, "output CSV")
    model = RIM.load(args.model)
    count = args.per_item if userrec else args.k
    cap = args.user_cap if userrec else args.item_cap
    for name, value in (("--per-item" if userrec else "--k", count), ("--user-cap" if userrec else "--item-cap", cap)):
        if value is not None and value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if userrec:
        items = read_ids(args.items, "item")
        rows = model.target(items, per_item=count, user_cap=cap, method=args.method)
        header = ["item", "user", "rank", "score", "intensity", "p_item"]
    else:
        users = read_ids(args.users, "user")
        rows = model.recommend(count, users=users, item_cap=cap, method=args.method)
        header = ["user", "item", "rank", "score", "intensity", "p_item"]
    n = len(rows["rank"])
    write_csv(out, header, ([rows[h][j].item() if hasattr(rows[h][j], "item") else rows[h][j] for h in header] for j in range(n)))
    per_user = np.unique(rows["user"], return_counts=True)[1]
    per_item = np.unique(rows["item"], return_counts=True)[1]
    task = "UserRec: users to target per item" if userrec else "ItemRec: items per user"
    lines = [
        f"- model: {args.model}; {task}; {'--per-item' if userrec else '--k'} {count}"
        + (f"; cap {cap} per {'user' if userrec else 'item'} ({args.method})" if cap else ""),
        f"- rows: {n}; distinct users {len(per_user)}, items {len(per_item)}; most rows per user {per_user.max(initial=0)}, "
        f"per item {per_item.max(initial=0)}",
        "- columns: score = intensity × p_item = expected engagements of the user with the item in the next "
        f"horizon ({model.horizon_:g} time units); rank 1 = best {'user for the item' if userrec else 'item for the user'}",
        "- pairs already in a user's history are never listed" if model.exclude_seen else "- pairs in a user's history may be listed",
    ]
    summary = out.with_name(f"{out.stem}_summary.md")
    write_summary(summary, "RIM " + ("targeting" if userrec else "recommendations"), lines)
    if not getattr(args, "quiet", False):
        print(f"wrote {n} rows to {out}, {summary}")
    return 0


_FIT_DESCRIPTION = f"""\
Fits RIM on your event log: a GRU over each user's items (p(item | user)) and a Hawkes-Poisson intensity of each
user's activity (λ(user), learned on the last horizon of the log), then saves the model. Scores are
λ(user)·p(item | user): expected engagements in the next horizon, comparable across users. --set key=value changes
any RIM parameter (e.g. --set horizon=604800 for a week of unix seconds; --set epochs=5 for a faster fit).

input:  --events CSV  {_EVENTS_HELP}

writes into --out MODEL:
  estimator.json, state.pt   the fitted RIM (iclr22.rim.RIM.load(MODEL))
  summary.md                 counts, horizon, the most active users now, settings
"""

_TARGET_DESCRIPTION = """\
UserRec, the marketing task: for each item, the users to target now, ranked by λ(user)·p(item | user).
--user-cap N keeps any user from being targeted by more than N of the items (greedy: exact; dual: online thresholds).

writes:
  --out CSV                 item, user, rank, score, intensity, p_item (one row per targeted pair)
  <CSV stem>_summary.md     counts and what the columns mean
"""

_RECOMMEND_DESCRIPTION = """\
ItemRec: for each user, the k items to recommend now. --item-cap N keeps any item from being shown to more than N
users (an exposure constraint).

writes:
  --out CSV                 user, item, rank, score, intensity, p_item (one row per recommended pair)
  <CSV stem>_summary.md     counts and what the columns mean
"""

VERBS = (
    Verb("fit", "fit RIM on your events.csv (user,item,timestamp) and save the model (MODEL/, summary.md)", _add_fit, _fit,
         _FIT_DESCRIPTION, estimator="iclr22.rim.estimator:RIM", defaults=FIT_DEFAULTS),
    Verb("target", "users to target for each item now (audience.csv), optionally capped per user",
         lambda p: _add_serving(p, True), lambda a: _serve(a, True), _TARGET_DESCRIPTION),
    Verb("recommend", "items to recommend to each user now (recommendations.csv), optionally capped per item",
         lambda p: _add_serving(p, False), lambda a: _serve(a, False), _RECOMMEND_DESCRIPTION),
)
