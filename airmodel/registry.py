# SPDX-License-Identifier: Apache-2.0
"""One registry type for channels, schemes, denoisers, models and datasets.

Built-in entries register with a decorator; plugins from other distributions
through ``importlib.metadata`` entry points (group ``airmodel.<kind>s``)::

    # the plugin's pyproject.toml
    [project.entry-points."airmodel.denoisers"]
    soft = "mypkg.denoisers:SoftThreshold"

Each entry accepts the keyword options of its factory's signature (or the
``options`` given at registration); :meth:`Registry.build` refuses any other
option and lists the accepted ones. Arguments the builder passes for the
whole run (``device``, ``precision``, ...) are *context*: they go only to
factories that take them, and are never user options.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Iterable, Mapping
from importlib.metadata import distributions, entry_points
from typing import Any, Generic, TypeVar

from airmodel.errors import UserError

__all__ = ["Registry", "RegistryError", "installed_plugins"]

T = TypeVar("T")


class RegistryError(UserError):
    """Unknown name or option; the message lists what is accepted (a
    :class:`~airmodel.errors.UserError`: the CLI prints it as one line)."""


class Registry(Generic[T]):
    """Named factories of one kind (``"channel"``, ``"denoiser"``, ...).

    :param kind: singular noun used in messages.
    :param group: entry-point group plugins register under.
    :param context: argument names the builder supplies (not user options).
    """

    def __init__(self, kind: str, group: str, context: Iterable[str] = ()) -> None:
        self.kind, self.group = kind, group
        self.context = frozenset(context)
        self._factories: dict[str, Callable[..., T]] = {}
        self._options: dict[str, tuple[str, ...] | None] = {}
        self._plugins_loaded = False

    def register(
        self, name: str, *, options: Iterable[str] | None = None
    ) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator registering ``factory`` as ``name``; a duplicate raises."""

        def wrap(factory: Callable[..., T]) -> Callable[..., T]:
            self.add(name, factory, options)
            return factory

        return wrap

    def add(
        self,
        name: str,
        factory: Callable[..., T],
        options: Iterable[str] | None = None,
    ) -> None:
        """Register ``factory`` as ``name`` (``options``: accepted keywords)."""
        if name in self._factories:
            raise ValueError(f"A {self.kind} named {name!r} is already registered.")
        self._factories[name] = factory
        self._options[name] = tuple(options) if options is not None else None

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._factories:  # a built-in name wins
                warnings.warn(
                    f"{self.kind} plugin {ep.name!r} ({ep.value}) is ignored: the name "
                    f"is taken by a built-in {self.kind}; the plugin must rename it.",
                    stacklevel=3,
                )
                continue
            try:
                self.add(ep.name, ep.load())
            except Exception as err:  # a broken plugin names itself, not a traceback
                raise RegistryError(
                    f"{self.kind} plugin {ep.name!r} ({ep.value}, entry-point group "
                    f"{self.group!r}) failed to load: {err}. Fix or uninstall it."
                ) from err

    def names(self) -> list[str]:
        """Sorted registered names, plugins included."""
        self._load_plugins()
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self.names()

    def get(self, name: str) -> Callable[..., T]:
        """The factory registered as ``name``."""
        self._load_plugins()
        if name not in self._factories:
            raise RegistryError(
                f"Unknown {self.kind} name {name!r}; choose one of {self.names()} "
                f"(plugins register under the entry-point group {self.group!r})."
            )
        return self._factories[name]

    def options(self, name: str) -> list[str] | None:
        """Option names ``name`` accepts (``None``: any, the factory takes ``**kwargs``)."""
        factory = self.get(name)
        given = self._options.get(name)
        if given is not None:
            return sorted(given)
        names = _keywords(factory)
        return None if names is None else sorted(names - self.context)

    def check(self, name: str, options: Mapping[str, Any]) -> None:
        """Raise :class:`RegistryError` for an option ``name`` does not accept."""
        accepted = self.options(name)
        if accepted is None:
            return
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            raise RegistryError(
                f"{self.kind} {name!r} does not take option(s) {unknown}; it accepts "
                f"{accepted}."
            )

    def build(
        self, name: str, options: Mapping[str, Any] | None = None, **context: Any
    ) -> T:
        """``factory(**options, **context)`` after checking ``options``.

        Context arguments go only to a factory whose signature takes them.
        """
        options = dict(options or {})
        self.check(name, options)
        factory = self.get(name)
        names = _keywords(factory)
        for key, value in context.items():
            if names is None or key in names:
                options.setdefault(key, value)
        return factory(**options)


def _keywords(factory: Callable[..., Any]) -> set[str] | None:
    """Keyword arguments ``factory`` accepts; ``None`` if any (``**kwargs``).

    A class's ``**kwargs`` that it forwards to its base classes are followed up
    the MRO until an ``__init__`` without ``**kwargs`` (or ``object``).
    """
    if not inspect.isclass(factory):
        inits = [factory]
    else:
        inits = [
            c.__dict__["__init__"] for c in factory.__mro__ if "__init__" in c.__dict__
        ]
    names: set[str] = set()
    for i, init in enumerate(inits):
        if init is object.__init__:
            return names
        params = list(inspect.signature(init).parameters.values())
        if inspect.isclass(factory):
            params = params[1:]  # self
        names |= {
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            # a base's required argument is the subclass's to give, not an option
            and (i == 0 or p.default is not p.empty)
        }
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return names
    return None


def installed_plugins() -> str:
    """Installed entry-point plugins of every ``airmodel.*`` group, one phrase
    (``airmodel run --dry-run`` prints it): installed code that runs when used."""
    found = {
        f"{ep.group}: {ep.name} = {ep.value} ({dist.name} {dist.version})"
        for dist in distributions()
        for ep in dist.entry_points
        if ep.group.startswith("airmodel.")
    }
    return "; ".join(sorted(found)) or "none installed"
