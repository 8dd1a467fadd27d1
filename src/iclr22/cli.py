"""The ``iclr22`` command line.

    iclr22 list
    iclr22 METHOD VERB ...        a task on your own files (fit, predict, find-issues, ...; iclr22 METHOD --help)
    iclr22 run METHOD [--dataset NAME] [--data-dir DIR] [--out DIR] [--seed N] [--runs K] [--quick] [--set k=v ...]
    iclr22 reproduce [METHOD ...] [--data-root DIR]
    iclr22 demo

Errors caused by input (unknown method or dataset, missing folder, bad file) print one line and exit
with code 2; ``--debug`` shows the traceback instead. A warning the toolkit raises (data that make a method
meaningless, e.g. a class with one sample) prints one line, ``iclr22: warning: ...``, on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = ["main", "build_parser"]

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error (the usage is one ``--help`` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="iclr22",
        description="Methods of Amazon's ICLR 2022 papers, on your data.",
        epilog="A method's tasks on your own files: iclr22 METHOD VERB ... (iclr22 METHOD --help lists them).",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="list the methods, their papers and datasets")

    run = sub.add_parser("run", help="run a method's experiment (the method and its baselines)", add_help=False)
    run.add_argument("-h", "--help", action="store_true", help="show this help, and with METHOD its datasets and every option")
    run.add_argument("method", nargs="?")
    run.add_argument("--dataset", help="dataset name (default: the method's embedded dataset)")
    run.add_argument("--data-dir", help="folder holding the dataset's files in their standard layout")
    run.add_argument("--out", help="output folder (default: runs/METHOD/<dataset>-<timestamp>/)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--runs", type=int, default=1, help="repeat over seeds seed..seed+K-1 and report mean and std")
    run.add_argument("--quick", action="store_true", help="shrink the run to well under a minute (smoke test)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="a method option; repeatable")
    run.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N or auto")
    run.add_argument("--quiet", action="store_true", help="no progress bars (by default they show on a terminal; ICLR22_PROGRESS=1 shows them in logs)")

    reproduce = sub.add_parser("reproduce", help="run the paper reproductions on real data and regenerate docs/results.md")
    reproduce.add_argument("methods", nargs="*", help="methods to reproduce (default: all registered)")
    reproduce.add_argument("--data-root", help="folder with one sub-folder per dataset family (default: ../shared/data)")
    reproduce.add_argument("--out", default="runs/reproduce", help="where the runs write")
    reproduce.add_argument("--docs", default="docs", help="docs folder whose results.md is regenerated")
    reproduce.add_argument("--dataset", action="append", default=[], help="only the reproductions on these datasets")
    reproduce.add_argument(
        "--label", action="append", default=[], help="only the reproductions with these record names (label, else dataset)"
    )
    reproduce.add_argument("--device", default="cpu")

    demo = sub.add_parser("demo", help="each method against its paper's baseline on embedded data, in one summary table")
    demo.add_argument("methods", nargs="*", metavar="METHOD", help="only these methods (default: all)")
    return parser


def _cmd_list() -> int:
    from iclr22.core.registry import available_methods
    from iclr22.methods import PLANNED

    methods = available_methods()
    if not methods:
        print("no methods registered yet")
    for name, spec in methods.items():
        datasets = ", ".join(d.name + ("*" if i == 0 else "") + ("+" if d.user_files else "") for i, d in enumerate(spec.datasets))
        print(f"{name:<13} {spec.paper}  [datasets: {datasets}]")
    pending = [n for n in PLANNED if n not in methods]
    legend = "* = embedded default, + = a layout for your own files (--data-dir)"
    print(f"({legend}" + (f"; not landed yet: {', '.join(pending)})" if pending else ")"))
    return 0


def method_help(name: str) -> str:
    """``iclr22 run METHOD --help``: the method's datasets and every option, from its schema."""
    from iclr22.core.experiment import experiment_of
    from iclr22.core.registry import get_method

    spec = get_method(name)
    lines = [f"{spec.name}: {spec.paper}", "", "datasets (--dataset; * = the default, [folder] = its folder under the data root, or --data-dir):"]
    for i, dataset in enumerate(spec.datasets):
        where = ("*" if i == 0 else "") + ("" if dataset.embedded else f" [{dataset.subdir}]") + (" (your own files)" if dataset.user_files else "")
        lines.append(f"  {dataset.name}{where}  {dataset.description}".rstrip())
    if spec.accepts_any_dataset_in:
        lines.append(f"  (any other name: a user dataset laid out like {spec.accepts_any_dataset_in})")
    experiment = experiment_of(spec)
    if experiment is not None:
        schema = experiment.schema(spec.name)
        shown: dict = {}
        for layer in experiment.settings_for(spec.default_dataset.name, quick=False):
            shown.update(layer)
        lines += ["", schema.help_text(shown)]
        per_dataset = {d.name: experiment.settings_for(d.name, False)[1] for d in spec.datasets}
        changed = {d: s for d, s in per_dataset.items() if s}
        if changed:
            lines.append("")
            lines.append("dataset settings (applied before --set):")
            for dataset, settings in changed.items():
                lines.append(f"  {dataset}: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
        quick = experiment.quick_settings(spec.default_dataset.name)
        if quick:
            lines.append(f"--quick sets (on {spec.default_dataset.name}): " + ", ".join(f"{k}={v}" for k, v in quick.items()))
    return "\n".join(lines)


def _cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from iclr22.core.config import parse_overrides
    from iclr22.core.device import get_device
    from iclr22.core.experiment import run_experiment
    from iclr22.core.registry import get_method

    if args.help or not args.method:
        run_parser = parser._subparsers._group_actions[0].choices["run"]  # type: ignore[union-attr]
        print(run_parser.format_help())
        if args.method:
            print(method_help(args.method))
        elif not args.help:
            run_parser.error("the following argument is required: method")
        return 0
    spec = get_method(args.method)
    device = str(get_device(args.device))
    run_experiment(
        spec,
        dataset=args.dataset,
        data_dir=args.data_dir,
        out_dir=args.out,
        seed=args.seed,
        runs=args.runs,
        quick=args.quick,
        overrides=parse_overrides(args.overrides),
        device=device,
        command="iclr22 " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None,
        verbose=False if args.quiet else None,
    )
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from iclr22.core.device import get_device
    from iclr22.core.errors import ConfigError, DataError
    from iclr22.core.experiment import run_experiment
    from iclr22.core.paths import default_data_root
    from iclr22.core.registry import available_methods, get_method
    from iclr22.core.reproduce import record_name, record_reproduction, render_results_md, reproduction_command, reproductions_for
    from iclr22.methods import PLANNED

    data_root = Path(args.data_root) if args.data_root else default_data_root()
    if data_root is None or not data_root.is_dir():
        raise DataError(f"{args.data_root or '../shared/data'}: data root not found; pass --data-root DIR")
    specs = [get_method(m) for m in args.methods] if args.methods else list(available_methods().values())
    docs = Path(args.docs)
    results_dir = docs / "results"
    device = str(get_device(args.device))
    selected = {spec.name: reproductions_for(spec, args.dataset, args.label) for spec in specs}
    if (args.dataset or args.label) and not any(selected.values()):
        known = sorted({f"{s.name}:{record_name(r)}" for s in specs for r in s.reproductions})
        raise ConfigError(
            f"no reproduction matches --dataset {args.dataset or '*'} --label {args.label or '*'}; known: {', '.join(known)}"
        )
    for spec in specs:
        for reproduction in selected[spec.name]:
            print(f"== {reproduction_command(spec, reproduction)}", flush=True)
            metrics = run_experiment(
                spec,
                dataset=reproduction.dataset,
                out_dir=Path(args.out) / spec.name / record_name(reproduction),
                runs=reproduction.runs,
                overrides=dict(reproduction.overrides),
                device=device,
                data_root=data_root,
                command=reproduction_command(spec, reproduction),
            )
            record_reproduction(results_dir, spec, reproduction, metrics)
    docs.mkdir(parents=True, exist_ok=True)
    (docs / "results.md").write_text(render_results_md(results_dir, available_methods(), PLANNED) + "\n", encoding="utf-8")
    print(f"wrote {docs / 'results.md'}")
    return 0


def _cmd_demo(names: list[str]) -> int:
    from iclr22.core.errors import ConfigError, Iclr22Error
    from iclr22.core.experiment import run_experiment
    from iclr22.core.registry import Demo, available_methods
    from iclr22.core.reproduce import summarize_headline

    methods = available_methods()
    unknown = [n for n in names if n not in methods]
    if unknown:
        raise ConfigError(f"demo: unknown method {', '.join(unknown)}; known: {', '.join(methods)}")
    if names:
        methods = {n: methods[n] for n in names}
    if not methods:
        print("no methods registered yet")
        return 0
    out_root = Path("runs/demo")
    header = ["method", "metric", "method value", "paper's baseline", "its value", "won?", "time"]
    rows: list[list[str]] = []
    claims: list[str] = []
    fmt = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    total = time.perf_counter()
    for spec in methods.values():
        demo = spec.demo
        command = demo.command(spec.name) if demo else f"iclr22 run {spec.name} --quick"
        print(f"== {command}", flush=True)
        started = time.perf_counter()
        try:
            metrics = run_experiment(
                spec,
                dataset=demo.dataset if demo else None,
                out_dir=out_root / spec.name,
                runs=demo.runs if demo else 1,
                quick=demo.quick if demo else True,
                overrides=dict(demo.overrides) if demo else {},
                command=command,
            )
        except Iclr22Error as exc:  # one method's missing extra must not stop the others
            rows.append([spec.name, "-", "failed", str(exc)[:60], "", "", f"{time.perf_counter() - started:.0f}s"])
            continue
        elapsed = f"{metrics['wall_seconds']:.0f}s"
        if isinstance(demo, Demo):
            ours, theirs, verdict = demo.verdict(metrics["results"])
            rows.append([spec.name, demo.metric, f"{demo.model} {fmt(ours)}", demo.baseline, fmt(theirs), verdict, elapsed])
            claims.append(f"{spec.name}: {demo.claim} ({command})")
        else:
            summary = summarize_headline(metrics, spec)
            rows.append([spec.name, summary["metric"], fmt(summary["ours"]), summary["baseline"] or "—", fmt(summary["baseline_value"]), "—", elapsed])
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    table = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
    table += ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in rows]
    minutes = (time.perf_counter() - total) / 60
    print()
    print("\n".join(table))
    print(f"\ntotal {minutes:.1f} min. What each row compares (the method wins when):")
    print("\n".join(f"  {c}" for c in claims))
    print(f"reports: {out_root}/<method>/report.md (demo settings: small runs on generated data, not the paper's numbers)")
    out_root.mkdir(parents=True, exist_ok=True)
    (out_root / "summary.md").write_text(
        "# iclr22 demo\n\n```\n" + "\n".join(table) + "\n```\n\n"
        + f"Total {minutes:.1f} min. What each row compares (the method wins when):\n\n"
        + "".join(f"- {c}\n" for c in claims),
        encoding="utf-8",
    )
    return 0


def _method_parser(spec: object) -> tuple[argparse.ArgumentParser, dict]:
    from iclr22.core.verbs import load_verbs

    verbs = {verb.name: verb for verb in load_verbs(spec.verbs)}  # type: ignore[attr-defined]
    lines = [f"{spec.paper}", "", "datasets of its benchmark (iclr22 run " + spec.name + " --help for options):"]  # type: ignore[attr-defined]
    for dataset in spec.datasets:  # type: ignore[attr-defined]
        where = " (your own files)" if dataset.user_files else ("*" if dataset.embedded else f" [{dataset.subdir}]")
        lines.append(f"  {dataset.name}{where}  {dataset.description}")
    lines.append("  (* = generated or shipped with a package; [folder] = under the data root)")
    parser = _Parser(
        prog=f"iclr22 {spec.name}",  # type: ignore[attr-defined]
        description="Tasks on your own files." if verbs else "This method has no task verbs yet; use iclr22 run.",
        epilog="\n".join(lines),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="verb", required=True, parser_class=_Parser, metavar="VERB")
    for verb in verbs.values():
        verb_parser = sub.add_parser(verb.name, help=verb.help, description=verb.description or verb.help,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
        verb.add_arguments(verb_parser)
        options = verb.options_help()
        if options:
            verb_parser.epilog = ((verb_parser.epilog or "") + "\n\n" + options).strip()
    return parser, verbs


def _cmd_method(name: str, argv: list[str]) -> int:
    from iclr22.core.registry import get_method

    parser, verbs = _method_parser(get_method(name))
    if not verbs and argv and argv[0] not in ("-h", "--help"):
        parser.error(f"method '{name}' has no task verbs yet (iclr22 run {name} runs its benchmark)")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2): an exit code, as every other path returns
        return int(exc.code or 0)
    return int(verbs[args.verb].run(args) or 0)


def _split_method_call(argv: list[str]) -> tuple[bool, str | None, list[str]]:
    """``(debug, method, rest)`` when the command line is ``iclr22 [--debug] METHOD ...``."""
    debug = bool(argv) and argv[0] == "--debug"
    rest = argv[1:] if debug else argv
    if not rest or rest[0].startswith("-") or rest[0] in ("list", "run", "reproduce", "demo"):
        return debug, None, rest
    from iclr22.core.registry import available_methods

    return (debug, rest[0], rest[1:]) if rest[0] in available_methods() else (debug, None, rest)


@contextlib.contextmanager
def _one_line_warnings() -> Iterator[None]:
    """A ``UserWarning`` the toolkit raises (data that make a method meaningless) prints as one line on stderr,
    ``iclr22: warning: ...``; warnings from other packages keep Python's format."""
    package = str(Path(__file__).resolve().parent)
    with warnings.catch_warnings():
        original = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
            if issubclass(category, UserWarning) and str(Path(filename).resolve()).startswith(package):
                print(f"iclr22: warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
            else:
                original(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``iclr22`` console script; returns the exit code."""
    with _one_line_warnings():
        return _main(argv)


def _main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug, method, rest = _split_method_call(argv)
    from iclr22.core.errors import Iclr22Error


    if method is not None:
        try:
            return _cmd_method(method, rest)
        except Iclr22Error as exc:
            if debug:
                raise
            print(f"iclr22: error: {' '.join(str(exc).split())}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("iclr22: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:  # a bug in the toolkit: one line, traceback with --debug
            if debug:
                raise
            print(f"iclr22: internal error: {type(exc).__name__}: {' '.join(str(exc).split())} (rerun with --debug for the traceback)", file=sys.stderr)
            return 1
    parser = build_parser()
    args = parser.parse_args(argv)

    try:
        if args.command == "list":
            return _cmd_list()
        if args.command == "run":
            return _cmd_run(args, parser)
        if args.command == "reproduce":
            return _cmd_reproduce(args)
        if args.command == "demo":
            return _cmd_demo(args.methods)
    except Iclr22Error as exc:
        if args.debug:
            raise
        message = " ".join(str(exc).split())
        print(f"iclr22: error: {message}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("iclr22: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in the toolkit: say so in one line, traceback with --debug
        if args.debug:
            raise
        print(f"iclr22: internal error: {type(exc).__name__}: {' '.join(str(exc).split())} (rerun with --debug for the traceback)", file=sys.stderr)
        return 1
    parser.error(f"unknown command {args.command}")
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
