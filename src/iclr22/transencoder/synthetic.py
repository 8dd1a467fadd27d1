"""A small STS-like sample generated in code (the embedded default dataset; no licence question arises).

Each sentence is "A <subject> <action> <place>." A pair shares some of the three slots (written in the
same or a paraphrased form) and changes the others; its gold score on the STS scale 0-5 is the weighted
share of kept slots (action 0.5, subject 0.3, place 0.2), so "A man is playing a guitar in the park." vs
"A guy is strumming a guitar at the park." scores 5 and a pair with nothing in common scores 0.
"""

from __future__ import annotations

import numpy as np

from iclr22.data.sentence_pairs import SentencePairs

__all__ = ["make_sts_sample"]

# (form, paraphrase) per slot value
_SUBJECTS = [("man", "guy"), ("woman", "lady"), ("child", "kid"), ("dog", "puppy"), ("cat", "kitten"), ("chef", "cook"),
             ("student", "pupil"), ("old man", "elderly man"), ("girl", "young girl"), ("boy", "young boy")]
_ACTIONS = [("is playing a guitar", "is strumming a guitar"), ("is riding a bicycle", "is cycling on a bike"),
            ("is cutting an onion", "is slicing an onion"), ("is reading a book", "is reading a novel"),
            ("is cooking pasta", "is making noodles"), ("is running", "is jogging"), ("is swimming", "is doing laps in the water"),
            ("is eating an apple", "is biting into an apple"), ("is sleeping", "is taking a nap"), ("is dancing", "is moving to music"),
            ("is talking on the phone", "is making a phone call"), ("is painting a picture", "is drawing a picture")]
_PLACES = [("in the park", "at the park"), ("on the street", "on the road"), ("in the kitchen", "inside the kitchen"),
           ("on the beach", "by the sea"), ("at home", "in the house"), ("in a classroom", "in a school room")]
_WEIGHTS = (0.3, 0.5, 0.2)  # subject, action, place


def _pick(rng: np.random.Generator, options: list[tuple[str, str]], keep: bool, current: int) -> tuple[int, str]:
    if keep:
        return current, options[current][int(rng.integers(2))]
    other = int(rng.integers(len(options) - 1))
    other += other >= current
    return other, options[other][int(rng.integers(2))]


def make_sts_sample(n: int, seed: int = 0, name: str = "synthetic") -> SentencePairs:
    """``n`` generated pairs with gold scores in 0..5 (deterministic in ``seed``)."""
    rng = np.random.default_rng(seed)
    first, second, scores = [], [], []
    slots = (_SUBJECTS, _ACTIONS, _PLACES)
    for _ in range(n):
        chosen = [int(rng.integers(len(options))) for options in slots]
        forms1 = [options[i][int(rng.integers(2))] for options, i in zip(slots, chosen)]
        keep_probability = rng.uniform(0.0, 1.0)  # spread the scores over the whole range
        kept = [bool(rng.random() < keep_probability) for _ in slots]
        forms2 = [_pick(rng, options, k, i)[1] for options, k, i in zip(slots, kept, chosen)]
        first.append(f"A {forms1[0]} {forms1[1]} {forms1[2]}.")
        second.append(f"A {forms2[0]} {forms2[1]} {forms2[2]}.")
        scores.append(5.0 * sum(w for w, k in zip(_WEIGHTS, kept) if k))
    return SentencePairs(first, second, np.round(np.asarray(scores, dtype=np.float64), 3), name=name)
