"""One typed schema of options per method, read from the estimator's ``__init__``.

A hyperparameter is written down once: in the estimator's ``__init__`` signature (name, type annotation,
default) and its docstring's ``Args:`` entry (meaning). :func:`options_of` reads both; the experiment adds
its run options (which models, data sizes) from a dataclass read the same way. From that one schema come

* ``iclr22 run METHOD --help`` (:meth:`OptionSchema.help_text`),
* the options table of the method's docs page (:meth:`OptionSchema.markdown_table`),
* ``--set key=value`` validation (:meth:`OptionSchema.resolve`): an unknown key, a value of the wrong type
  or outside a ``Literal`` is a :class:`~iclr22.core.errors.ConfigError` naming the option and what it takes,
* the estimator's own parameter check in ``fit`` (:func:`check_params`).

Values are validated with pydantic's ``TypeAdapter``, which understands every annotation we use
(``Literal[...]``, ``float | Literal["auto"]``, ``tuple[int, ...] | None``, ``list[Literal[...]]``) — see
docs/architecture.md for why pydantic rather than jsonargparse or tyro.
"""

from __future__ import annotations

import ast
import dataclasses
import difflib
import inspect
import re
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, get_args, get_origin

from iclr22.core.errors import ConfigError

__all__ = ["Option", "OptionSchema", "options_of", "check_params", "parse_value", "docstring_args", "type_text"]

#: Constructor arguments that are not hyperparameters: the harness sets them from the command line.
RUNTIME_PARAMS = ("device", "verbose", "seed", "checkpoint_dir")


def parse_value(text: str) -> Any:
    """Read one ``--set`` value: booleans, ``None``, Python literals, comma-separated lists, else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    if lowered in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        pass
    if "," in text:
        return [parse_value(part) for part in text.split(",") if part != ""]
    return text


# ------------------------------------------------------------------------------------------- docstrings
_SECTION = re.compile(r"^\s*(Args|Arguments|Attributes|Parameters|Returns|Raises|Example|Examples|Yields|Note|Notes)\s*(\(.*\))?:\s*$")


def docstring_args(doc: str | None) -> dict[str, str]:
    """``{name: first sentence}`` of a Google-style ``Args:`` (or ``Attributes:``) section."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    found: dict[str, str] = {}
    in_args, name, indent = False, None, None
    for line in lines:
        header = _SECTION.match(line)
        if header:
            in_args = header.group(1) in ("Args", "Arguments", "Parameters", "Attributes") and not header.group(2)
            name, indent = None, None
            continue
        if not in_args or not line.strip():
            continue
        current = len(line) - len(line.lstrip())
        match = re.match(r"^\s*(\w+)\s*(\([^)]*\))?:\s*(.*)$", line)
        if match and (indent is None or current <= indent):
            indent, name = current, match.group(1)
            found[name] = match.group(3).strip()
        elif name is not None and indent is not None and current > indent:
            found[name] = (found[name] + " " + line.strip()).strip()
        elif indent is not None and current < indent:
            in_args = False
    return found


def _first_sentence(text: str) -> str:
    match = re.match(r"(.+?\.)(\s|$)", text)
    return (match.group(1) if match else text).strip()


# ---------------------------------------------------------------------------------------------- types
def type_text(annotation: Any) -> str:
    """A short human name of an annotation: ``int``, ``'a' | 'b'``, ``float | 'auto'``, ``list of ...``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "none"
    if origin is Literal:
        return " | ".join(repr(a) if isinstance(a, str) else str(a) for a in args)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return " | ".join(type_text(a) for a in args)
    if origin in (list, tuple, set, frozenset) or origin is getattr(typing, "Sequence", None):
        inner = [a for a in args if a is not Ellipsis]
        text = type_text(inner[0]) if inner else ""
        return (f"list of ({text})" if " | " in text else f"list of {text}") if inner else "list"
    if origin is not None and getattr(origin, "__name__", "") == "Sequence":
        return f"list of {type_text(args[0])}" if args else "list"
    if origin in (dict,) or (origin is not None and getattr(origin, "__name__", "") == "Mapping"):
        return "mapping"
    if hasattr(annotation, "__name__"):
        return {"Path": "path", "PathLike": "path"}.get(annotation.__name__, annotation.__name__)
    return str(annotation).replace("typing.", "")


@lru_cache(maxsize=None)
def _adapter(annotation: Any) -> Any:
    from pydantic import ConfigDict, TypeAdapter

    try:
        return TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:  # pydantic cannot build a validator (e.g. a torch.device): accept as given
        return None


def _accepts_str(annotation: Any) -> bool:
    if annotation is str or annotation is Any:
        return True
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_accepts_str(a) for a in args)
    return hasattr(annotation, "__fspath__") or getattr(annotation, "__name__", "") in ("Path", "PathLike")


def _choices(annotation: Any) -> list[Any]:
    """Every ``Literal`` value an annotation allows (also inside unions and lists)."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return list(args)
    return [c for a in args for c in _choices(a)] if args else []


# --------------------------------------------------------------------------------------------- option
@dataclass(frozen=True)
class Option:
    """One option of a method.

    Args:
        name: The key of ``--set`` and of the estimator's ``__init__``.
        annotation: Its type annotation.
        default: Its default (``dataclasses.MISSING`` for none).
        help: The first sentence of its docstring entry.
        owner: ``"estimator"`` (a hyperparameter) or ``"run"`` (an experiment's run option).
    """

    name: str
    annotation: Any
    default: Any
    help: str = ""
    owner: str = "estimator"

    @property
    def type_text(self) -> str:
        return type_text(self.annotation)

    def validate(self, value: Any, where: str = "option") -> Any:
        """``value`` checked and converted to the option's type.

        A string (as from ``--set``) is tried first as parsed by :func:`parse_value` and then as the plain
        text, so ``5`` can be an ``int`` option and also a ``str`` one.

        Raises:
            ConfigError: the value fits neither reading; the message names the option and what it takes.
        """
        adapter = _adapter(self.annotation)
        if adapter is None or self.annotation is Any:
            return value
        from pydantic import ValidationError

        candidates = [value]
        if isinstance(value, str):
            parsed = parse_value(value)
            candidates = [parsed, value] if _accepts_str(self.annotation) or parsed is not value else [value]
        if _is_sequence(self.annotation):  # one value given for a list option: a list of one
            candidates += [[c] for c in candidates if not isinstance(c, (list, tuple))]
        for candidate in candidates:
            if isinstance(candidate, bool) and not _allows_bool(self.annotation):
                continue  # pydantic would read True as 1: a flag given to a number option is a mistake
            try:
                return adapter.validate_python(candidate)
            except ValidationError:
                continue
        choices = _choices(self.annotation)
        allowed = f"one of {', '.join(map(repr, choices))}" if choices and get_origin(self.annotation) is Literal else self.type_text
        raise ConfigError(f"{where} '{self.name}' expects {allowed}, got {value!r}")


def _is_sequence(annotation: Any) -> bool:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (list, tuple) or getattr(origin, "__name__", "") == "Sequence":
        return True
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return any(_is_sequence(a) for a in args)
    return False


def _allows_bool(annotation: Any) -> bool:
    if annotation is bool or annotation is Any:
        return True
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return any(isinstance(a, bool) for a in args)
    return any(_allows_bool(a) for a in args) if args else False


def _hints(obj: Any) -> dict[str, Any]:
    target = obj.__init__ if isinstance(obj, type) and not dataclasses.is_dataclass(obj) else obj
    try:
        return typing.get_type_hints(target, include_extras=False)
    except Exception as exc:  # a broken annotation is a bug of the method, say where
        raise ConfigError(f"{getattr(obj, '__qualname__', obj)}: cannot read its type annotations ({exc})") from exc


def options_of(obj: Any, owner: str = "estimator", skip: Iterable[str] = RUNTIME_PARAMS) -> dict[str, Option]:
    """The options of an estimator class (its ``__init__``), a function, or a dataclass of run options.

    Args:
        obj: The class, function or dataclass.
        owner: Written into each :class:`Option`.
        skip: Parameters that are not options (by default the runtime ones set by the harness).

    Raises:
        ConfigError: a parameter without a type annotation (every option must say its type).
    """
    skip = set(skip)
    hints = _hints(obj)
    doc = docstring_args(obj.__doc__) if isinstance(obj, type) else docstring_args(inspect.getdoc(obj))
    if isinstance(obj, type) and not dataclasses.is_dataclass(obj):
        doc = {**docstring_args(inspect.getdoc(obj.__init__)), **doc}
    found: dict[str, Option] = {}
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            if f.name in skip or not f.init:
                continue
            default = f.default if f.default is not dataclasses.MISSING else (
                f.default_factory() if f.default_factory is not dataclasses.MISSING else dataclasses.MISSING
            )
            found[f.name] = Option(f.name, hints.get(f.name, Any), default, _first_sentence(doc.get(f.name, "")), owner)
        return found
    signature = inspect.signature(obj.__init__ if isinstance(obj, type) else obj)
    for name, param in signature.parameters.items():
        if name == "self" or name in skip or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if name not in hints:
            raise ConfigError(f"{getattr(obj, '__qualname__', obj)}: parameter '{name}' has no type annotation")
        default = param.default if param.default is not inspect.Parameter.empty else dataclasses.MISSING
        found[name] = Option(name, hints[name], default, _first_sentence(doc.get(name, "")), owner)
    return found


def check_params(estimator: Any) -> None:
    """Check every constructor argument of ``estimator`` against its annotation, in place.

    Called at the start of ``fit`` (scikit-learn's rule: ``__init__`` only stores). Values are converted
    where the annotation says so (a list given for a ``tuple`` option becomes a tuple).

    Raises:
        ConfigError: ``"<Class>: option 'x' expects ..."``.
    """
    cls = type(estimator)
    for name, option in options_of(cls, skip=()).items():
        if option.annotation is Any:
            continue
        value = getattr(estimator, name)
        checked = option.validate(value, where=f"{cls.__name__}: parameter")
        if checked is not value and type(checked) is not type(value):
            setattr(estimator, name, checked)


# --------------------------------------------------------------------------------------------- schema
class OptionSchema(Mapping[str, Option]):
    """The options of one method's experiment: the estimator's hyperparameters plus the run options.

    Args:
        options: Name -> :class:`Option`, in display order.
        method: The method's name, for messages.
    """

    def __init__(self, options: Mapping[str, Option], method: str = "") -> None:
        self._options = dict(options)
        self.method = method

    @classmethod
    def build(cls, *sources: Any, method: str = "", owners: Iterable[str] | None = None) -> "OptionSchema":
        """Merge the options of several classes; a name seen twice must have the same annotation."""
        options: dict[str, Option] = {}
        owners = list(owners) if owners is not None else ["estimator"] * len(sources)
        for source, owner in zip(sources, owners):
            # an estimator's _not_options are constructor arguments that are not settings of a run (a fitted
            # model passed in, a value the experiment sets per model): not in --help, not settable by --set
            skip = (*RUNTIME_PARAMS, *getattr(source, "_not_options", ()))
            for name, option in options_of(source, owner=owner, skip=skip).items():
                if name in options:
                    if options[name].annotation != option.annotation:
                        raise ConfigError(f"{method}: option '{name}' is declared twice with different types")
                    continue
                options[name] = option
        return cls(options, method)

    def __getitem__(self, key: str) -> Option:
        return self._options[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._options)

    def __len__(self) -> int:
        return len(self._options)

    def defaults(self) -> dict[str, Any]:
        return {name: o.default for name, o in self._options.items() if o.default is not dataclasses.MISSING}

    def _unknown(self, key: str, what: str) -> ConfigError:
        close = difflib.get_close_matches(key, list(self._options), n=3)
        # an old short name (hidden -> hidden_channels) is a prefix or part of the new one
        close += [name for name in self._options if name not in close and (name.startswith(key) or key in name.split("_"))][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        where = f"method '{self.method}'" if self.method else "this method"
        return ConfigError(f"unknown {what} '{key}' for {where}{hint}; see `iclr22 run {self.method or 'METHOD'} --help` for its options")

    def resolve(self, *layers: Mapping[str, Any], user: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The options of one run: defaults, then each of ``layers`` (budget, dataset, ``--quick``), then ``user``.

        Args:
            layers: The experiment's own settings, applied in order; their keys must be options.
            user: What the user set (``--set``); strings are parsed as :meth:`Option.validate` says.

        Raises:
            ConfigError: an unknown key (with close matches) or a value that does not fit the option.
        """
        config = self.defaults()
        for layer in layers:
            for key, value in layer.items():
                if key not in self._options:
                    raise self._unknown(key, "setting")
                config[key] = value
        for key, value in (user or {}).items():
            if key not in self._options:
                raise self._unknown(key, "option")
            config[key] = self._options[key].validate(value)
        missing = [name for name in self._options if name not in config]
        if missing:
            raise ConfigError(f"method '{self.method}': options without a value: {', '.join(missing)}")
        return config

    def rows(self, defaults: Mapping[str, Any] | None = None) -> list[tuple[str, str, str, str]]:
        """``(name, type, default, help)`` per option; ``defaults`` shows the experiment's effective values."""
        shown = {**self.defaults(), **(defaults or {})}
        return [(n, o.type_text, _show(shown.get(n, "(required)")), o.help) for n, o in self._options.items()]

    def help_text(self, defaults: Mapping[str, Any] | None = None, width: int = 100) -> str:
        """The ``--help`` listing: one block per option (name, type, default; then the meaning)."""
        lines = []
        for owner, title in (("run", "run options"), ("estimator", "method options (the estimator's parameters)")):
            names = [n for n, o in self._options.items() if o.owner == owner]
            if not names:
                continue
            lines.append(f"{title}, --set KEY=VALUE:")
            for name, kind, default, meaning in self.rows(defaults):
                if name not in names:
                    continue
                lines.append(f"  {name} ({kind}, default {default})")
                if meaning:
                    lines.append(_wrap(meaning, width, "      "))
        return "\n".join(lines)

    def markdown_table(self, defaults: Mapping[str, Any] | None = None) -> str:
        """The options table of the docs: generated from the same schema as ``--help``."""
        out = ["| option | type | default | meaning |", "|---|---|---|---|"]
        for name, kind, default, meaning in self.rows(defaults):
            out.append(f"| `{name}` | {kind.replace('|', '&#124;')} | `{default}` | {meaning.replace('|', '&#124;')} |")
        return "\n".join(out)


def _show(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value)) if value else "(empty)"
    return str(value)


def _wrap(text: str, width: int, indent: str) -> str:
    import textwrap

    return textwrap.fill(text, width=width, initial_indent=indent, subsequent_indent=indent)

