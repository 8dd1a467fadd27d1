"""RIM's embedded data: a seeded simulator of users who differ in how active they are and in what they like.

What the method exploits is built in, each piece with a known cause:

* **Activity** — each user has a lifetime (joins at a random day, stays an exponential number of days) and,
  while alive, a self-exciting (Hawkes) stream of events: a personal base rate (log-normal: some users are
  ten times as active as others) plus bursts (each event triggers on average ``excitation`` more, within a
  day or so). Whether a user acts in the next window is predictable from their recent events — what λ(user)
  must learn; item-side scores alone cannot see it.
* **Taste and sequence** — items belong to topics; each user prefers a few topics (Dirichlet) and, with
  probability ``sequential``, follows the previous item to its successor in a fixed chain inside the topic:
  a next-item model learns p(item | history), popularity does not.
* Items never repeat for a user (as ratings in MovieLens).

Timestamps are integer seconds; ids are ``u<k>`` / ``i<k>`` strings, as a user's own log would have.
"""

from __future__ import annotations

import numpy as np

from iclr22.data.interactions import Interactions, _build

__all__ = ["simulate_events"]

DAY = 86_400


def simulate_events(num_users: int = 600, num_items: int = 300, num_topics: int = 10, days: float = 200.0,
                    mean_lifetime: float = 30.0, base_rate: float = 0.3, excitation: float = 0.6, burst_days: float = 0.5,
                    sequential: float = 0.6, seed: int = 0) -> Interactions:
    """Simulate an event log (see the module docstring).

    Args:
        num_users: Users.
        num_items: Items (spread over ``num_topics`` topics, Zipf popularity inside each).
        num_topics: Topics.
        days: Length of the log.
        mean_lifetime: Mean days a user stays active.
        base_rate: Median base events per day while active (log-normal across users, σ = 1).
        excitation: Mean events each event triggers (the Hawkes branching ratio, < 1).
        burst_days: Mean delay of a triggered event, in days.
        sequential: Probability that the next item follows the previous one's chain.
        seed: Seed.
    """
    rng = np.random.default_rng(seed)
    topic_of = np.arange(num_items) % num_topics
    weight = 1.0 / (1.0 + np.arange(num_items) // num_topics) ** 0.8  # Zipf inside a topic
    members = [np.flatnonzero(topic_of == k) for k in range(num_topics)]
    successor = np.empty(num_items, dtype=np.int64)
    for items in members:
        chain = rng.permutation(items)
        successor[chain] = np.roll(chain, -1)
    users, items, times = [], [], []
    for u in range(num_users):
        start = rng.uniform(0, days)
        end = min(days, start + rng.exponential(mean_lifetime))
        rate = base_rate * np.exp(rng.normal(0.0, 1.0))
        # Hawkes by its branching form: immigrants at the base rate, each event spawning Poisson(excitation) children
        pending = list(rng.uniform(start, end, rng.poisson(rate * (end - start))))
        stamps = []
        while pending:
            t = pending.pop()
            stamps.append(t)
            children = t + rng.exponential(burst_days, rng.poisson(excitation))
            pending.extend(c for c in children if c < end)
        stamps = np.sort(np.asarray(stamps))[: num_items // 2]
        taste = rng.dirichlet(np.full(num_topics, 0.3))
        seen: set[int] = set()
        previous = -1
        for t in stamps:
            choice = -1
            if previous >= 0 and rng.random() < sequential and int(successor[previous]) not in seen:
                choice = int(successor[previous])
            for _ in range(20):
                if choice >= 0 and choice not in seen:
                    break
                pool = members[rng.choice(num_topics, p=taste)]
                choice = int(rng.choice(pool, p=weight[pool] / weight[pool].sum()))
            if choice in seen:
                continue
            seen.add(choice)
            previous = choice
            users.append(f"u{u}")
            items.append(f"i{choice}")
            times.append(int(t * DAY))
    data = _build(np.asarray(users), np.asarray(items), np.asarray(times, dtype=np.int64), None, "synthetic")
    return data
