"""Sentence pairs with similarity scores: STS Benchmark, SemEval STS 2012-2016, and a generic TSV.

On-disk formats read here (all UTF-8, tab-separated, read with no quoting at all, i.e. ``csv.QUOTE_NONE``:
quote characters are part of the sentences):

* **STS-B** (``sts/stsb/sts-{train,dev,test}.csv``): no header; ``genre, filename, year, id, score,
  sentence1, sentence2`` and sometimes two extra source columns (7 or 9 fields). Fields 4, 5, 6 are used;
  the score is the raw 0-5 gold similarity.
* **STS12-16** (``sts/sts12-16/<year>.test.tsv``, the layout Trans-Encoder reads): no header;
  ``score, sentence1, sentence2``; an empty score marks an unlabelled pair.
* **Generic user format**: a TSV whose first line is the header ``sentence1<TAB>sentence2`` or
  ``sentence1<TAB>sentence2<TAB>score``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.data import _checks

__all__ = ["SentencePairs", "load_stsb", "load_sts_year", "load_pairs_tsv", "STS_YEARS"]

STS_YEARS = (2012, 2013, 2014, 2015, 2016, "2012_to_2016")
_STSB_FILES = {"train": "sts-train.csv", "dev": "sts-dev.csv", "test": "sts-test.csv"}


@dataclass
class SentencePairs:
    """Sentence pairs, optionally with a gold similarity score each.

    Attributes:
        sentence1: First sentences.
        sentence2: Second sentences, same length.
        scores: float64 ``[n]`` gold scores (raw scale of the source, 0-5 for STS), or ``None`` when unlabelled.
        name: Dataset/split name.
    """

    sentence1: list[str]
    sentence2: list[str]
    scores: np.ndarray | None = None
    name: str = "pairs"

    def __len__(self) -> int:
        return len(self.sentence1)


def load_stsb(data_dir: str | Path, split: str = "test") -> SentencePairs:
    """Read one split of the STS Benchmark.

    Args:
        data_dir: The ``stsb`` folder.
        split: ``"train"`` (5749 pairs), ``"dev"`` (1500) or ``"test"`` (1379).

    Returns:
        The :class:`SentencePairs` with raw 0-5 scores.

    Raises:
        ConfigError: On an unknown split.
        DataError: On a missing file, a row without 7 or 9 fields, or a score that is not a finite number in 0..5.
    """
    if split not in _STSB_FILES:
        raise ConfigError(f"unknown STS-B split {split!r} (expected train, dev or test)")
    path = _checks.require_files(data_dir, list(_STSB_FILES.values()))[_STSB_FILES[split]]
    first, second, scores = [], [], []
    for line_no, line in enumerate(_checks.read_text_lines(path), start=1):
        cells = line.split("\t")
        if len(cells) not in (7, 9):
            raise DataError(f"{path}: line {line_no}: {len(cells)} tab-separated fields, expected 7 or 9")
        scores.append(_score(cells[4], path, line_no))
        first.append(cells[5])
        second.append(cells[6])
    return SentencePairs(first, second, np.asarray(scores, dtype=np.float64), name=f"stsb-{split}")


def load_sts_year(data_dir: str | Path, year: int | str, labeled_only: bool = True) -> SentencePairs:
    """Read a SemEval STS test year as laid out for Trans-Encoder (``<year>.test.tsv``).

    Args:
        data_dir: The ``sts12-16`` folder.
        year: 2012..2016 or ``"2012_to_2016"`` (all years concatenated).
        labeled_only: Keep only pairs with a gold score (``scores`` is then an array); with ``False`` all
            rows are returned and ``scores`` holds NaN for unlabelled pairs.

    Returns:
        The :class:`SentencePairs` (gold pairs: 3108, 1500, 3750, 3000, 1186; 12544 for 2012_to_2016).

    Raises:
        ConfigError: On an unknown year.
        DataError: On a missing file, a row without exactly 3 fields, or a bad score.
    """
    key: int | str = int(year) if str(year).isdigit() else str(year)
    if key not in STS_YEARS:
        raise ConfigError(f"unknown STS year {year!r} (expected one of {', '.join(map(str, STS_YEARS))})")
    path = _checks.require_files(data_dir, [f"{key}.test.tsv"])[f"{key}.test.tsv"]
    first, second, scores = [], [], []
    for line_no, line in enumerate(_checks.read_text_lines(path), start=1):
        cells = line.split("\t")
        if len(cells) != 3:
            raise DataError(f"{path}: line {line_no}: {len(cells)} tab-separated fields, expected 3 (score, sentence1, sentence2)")
        score = np.nan if cells[0].strip() == "" else _score(cells[0], path, line_no)
        if labeled_only and np.isnan(score):
            continue
        first.append(cells[1])
        second.append(cells[2])
        scores.append(score)
    return SentencePairs(first, second, np.asarray(scores, dtype=np.float64), name=f"sts-{key}")


def load_pairs_tsv(path: str | Path, score_range: tuple[float, float] | None = None, require_scores: bool = False) -> SentencePairs:
    """Read the generic pair format: a TSV with header ``sentence1<TAB>sentence2[<TAB>score]``.

    Example::

        sentence1	sentence2	score
        A man is playing a guitar.	A person plays a guitar.	4.2

    Args:
        path: The TSV file (UTF-8; ``.gz`` accepted).
        score_range: ``(low, high)``: the declared scale of the scores; a score outside it is an error.
            ``None`` accepts any finite number.
        require_scores: The file must have the score column (gold pairs for evaluation).

    Returns:
        The :class:`SentencePairs`; ``scores`` is ``None`` without a score column.

    Raises:
        DataError: On a missing file, a wrong header (or no score column when ``require_scores``), a row with
            the wrong number of fields, an empty sentence, a non-numeric / NaN score, or a score outside
            ``score_range``.
    """
    path = _checks.require_file(path, "a TSV with header sentence1<TAB>sentence2[<TAB>score]")
    lines = _checks.read_text_lines(path)
    header = lines[0].split("\t") if lines else []
    if header not in (["sentence1", "sentence2"], ["sentence1", "sentence2", "score"]):
        raise DataError(f"{path}: line 1: header must be 'sentence1<TAB>sentence2' or 'sentence1<TAB>sentence2<TAB>score'")
    width = len(header)
    if require_scores and width != 3:
        raise DataError(f"{path}: line 1: gold scores needed: the header must be 'sentence1<TAB>sentence2<TAB>score'")
    first, second, scores = [], [], []
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != width:
            raise DataError(f"{path}: line {line_no}: {len(cells)} tab-separated fields, expected {width}")
        if not cells[0].strip() or not cells[1].strip():
            raise DataError(f"{path}: line {line_no}: empty sentence")
        first.append(cells[0])
        second.append(cells[1])
        if width == 3:
            value = _checks.parse_float(cells[2], path, line_no, "score")
            if score_range is not None and not score_range[0] <= value <= score_range[1]:
                raise DataError(f"{path}: line {line_no}: score {value} outside the declared range {score_range[0]:g}..{score_range[1]:g}")
            scores.append(value)
    if not first:
        raise DataError(f"{path}: no sentence pairs after the header")
    return SentencePairs(first, second, np.asarray(scores, dtype=np.float64) if width == 3 else None, name=path.stem)


def _score(cell: str, path: Path, line_no: int) -> float:
    value = _checks.parse_float(cell.strip(), path, line_no, "score")
    if not 0.0 <= value <= 5.0:
        raise DataError(f"{path}: line {line_no}: score {value} outside the STS range 0..5")
    return value
