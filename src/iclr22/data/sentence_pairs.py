"""Sentence pairs with similarity scores: STS Benchmark, SemEval STS 2012-2016, and a generic TSV.

On-disk formats read here (all UTF-8, tab-separated, read with no quoting at all, i.e. ``csv.QUOTE_NONE``:
quote characters are part of the sentences):

* **STS-B** (``sts/stsb/sts-{train,dev,test}.csv``): no header; ``genre, filename, year, id, score,
  sentence1, sentence2`` and sometimes two extra source columns (7 or 9 fields). Fields 4, 5, 6 are used;
  the score is the raw 0-5 gold similarity.
* **STS12-16** (``sts/sts12-16/<year>.test.tsv``, the layout Trans-Encoder reads): no header;
  ``score, sentence1, sentence2``; an empty score marks an unlabelled pair.
* **Generic user format** (:func:`load_pairs`): a TSV (or a CSV, by its suffix) whose header names the
  columns ``sentence1``, ``sentence2`` and optionally ``score``; other columns are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iclr22.core.errors import ConfigError, DataError
from iclr22.data import _checks

__all__ = ["SentencePairs", "load_stsb", "load_sts_year", "load_pairs", "load_pairs_tsv", "STS_YEARS"]

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


def load_pairs(
    path: str | Path, score_range: tuple[float, float] | None = None, require_scores: bool = False, ignore_scores: bool = False
) -> SentencePairs:
    """Read a user's pair file: a TSV (or, by its ``.csv`` suffix, a CSV) whose header names the columns.

    The header must name ``sentence1`` and ``sentence2`` and may name ``score``, in any order (case and
    surrounding spaces ignored); other columns are ignored. TSV cells are split on tabs only, with no quoting
    (quote characters are part of the sentences, as in every STS file); CSV cells follow the usual CSV
    quoting, so a sentence with a comma is written in double quotes. ``.gz`` is accepted.

    Example::

        sentence1	sentence2	score
        A man is playing a guitar.	A person plays a guitar.	4.2

    Args:
        path: The file (UTF-8).
        score_range: ``(low, high)``: the declared scale of the scores; a score outside it is an error.
            ``None`` accepts any finite number.
        require_scores: The file must have the score column (gold pairs for evaluation).
        ignore_scores: Do not read a score column (unlabelled pairs: a score column is then allowed and left unread).

    Returns:
        The :class:`SentencePairs` (named after the file); ``scores`` is ``None`` without a score column.

    Raises:
        DataError: On a missing file, a header without sentence1 / sentence2 (or without score when
            ``require_scores``), a row with the wrong number of fields, an empty sentence, a non-numeric / NaN
            score, or a score outside ``score_range``.
    """
    path = _checks.require_file(path, "a TSV with header sentence1<TAB>sentence2[<TAB>score], or a CSV with those columns")
    is_csv = path.name.lower().removesuffix(".gz").endswith(".csv")
    rows = _csv_rows(path) if is_csv else [(n, line.split("\t")) for n, line in enumerate(_checks.read_text_lines(path), start=1)]
    kind = "comma" if is_csv else "tab"
    header = [cell.strip().lstrip("\ufeff").strip().lower() for cell in rows[0][1]] if rows else []
    if "sentence1" not in header or "sentence2" not in header:
        raise DataError(f"{path}: line 1: header must be 'sentence1<TAB>sentence2' or 'sentence1<TAB>sentence2<TAB>score' "
                        f"(columns named sentence1, sentence2 and optionally score, in any order; found {', '.join(header[:5]) or 'nothing'})")
    duplicated = sorted({c for c in header if c and header.count(c) > 1})
    if duplicated:
        raise DataError(f"{path}: line 1: column {duplicated[0]!r} appears twice in the header")
    has_score = "score" in header and not ignore_scores
    if require_scores and "score" not in header:
        raise DataError(f"{path}: line 1: gold scores needed: the header must name a score column (sentence1<TAB>sentence2<TAB>score)")
    at1, at2, at_score = header.index("sentence1"), header.index("sentence2"), header.index("score") if has_score else -1
    first, second, scores = [], [], []
    for line_no, cells in rows[1:]:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            raise DataError(f"{path}: line {line_no}: {len(cells)} {kind}-separated fields, expected {len(header)}")
        if not cells[at1].strip() or not cells[at2].strip():
            raise DataError(f"{path}: line {line_no}: empty sentence")
        first.append(cells[at1])
        second.append(cells[at2])
        if has_score:
            value = _checks.parse_float(cells[at_score], path, line_no, "score")
            if score_range is not None and not score_range[0] <= value <= score_range[1]:
                raise DataError(f"{path}: line {line_no}: score {value} outside the declared range {score_range[0]:g}..{score_range[1]:g}")
            scores.append(value)
    if not first:
        raise DataError(f"{path}: no sentence pairs after the header")
    name = path.name.removesuffix(".gz").rsplit(".", 1)[0]
    return SentencePairs(first, second, np.asarray(scores, dtype=np.float64) if has_score else None, name=name)


def load_pairs_tsv(path: str | Path, score_range: tuple[float, float] | None = None, require_scores: bool = False) -> SentencePairs:
    """The generic pair format (a TSV with header ``sentence1<TAB>sentence2[<TAB>score]``): :func:`load_pairs`."""
    return load_pairs(path, score_range=score_range, require_scores=require_scores)


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """``(line number, cells)`` per CSV record (a quoted cell may span lines; the number is the record's first line)."""
    import csv
    import io

    data = _checks.read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not valid utf-8 text (byte offset {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, start = [], 1
    try:
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise DataError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    return rows


def _score(cell: str, path: Path, line_no: int) -> float:
    value = _checks.parse_float(cell.strip(), path, line_no, "score")
    if not 0.0 <= value <= 5.0:
        raise DataError(f"{path}: line {line_no}: score {value} outside the STS range 0..5")
    return value
