"""Import related utilities."""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Callable, Mapping

__all__ = ('symbol_by_name', 'instantiate', 'import_extra')


def symbol_by_name(name: Any, aliases: Mapping[str, str] | None = None,
                   imp: Callable | None = None, package: str | None = None,
                   sep: str = '.', default: Any = None, **kwargs: Any) -> Any:
    """Get symbol by qualified name.

    The name should be the full dot-separated path to the class::

        modulename.ClassName

    or using ``:`` to separate module and symbol::

        modulename:ClassName

    If ``aliases`` is provided, a dict containing short name/long name
    mappings, the name is looked up in the aliases first.  A name without
    a separator names a module.  Non-string names are returned unchanged.
    When ``default`` is not None it is returned instead of raising
    :exc:`ImportError` / :exc:`AttributeError`.
    """
    if imp is None:
        imp = importlib.import_module
    if not isinstance(name, str):
        return name  # already a class/object

    name = (aliases or {}).get(name) or name
    sep = ':' if ':' in name else sep
    module_name, _, attr = name.rpartition(sep)
    if not module_name:
        attr, module_name = None, package if package else attr
    try:
        try:
            module = imp(module_name, package=package, **kwargs)
        except ValueError as exc:
            raise ValueError(f"Couldn't import {name!r}: {exc}") from exc
        return getattr(module, attr) if attr else module
    except (ImportError, AttributeError):
        if default is None:
            raise
    return default


def instantiate(name: Any, *args: Any, **kwargs: Any) -> Any:
    """Instantiate class by name (see :func:`symbol_by_name`)."""
    return symbol_by_name(name)(*args, **kwargs)


def import_extra(module: str, extra: str, purpose: str,
                 library: str | None = None) -> ModuleType:
    """Import the optional client library ``module`` that a kombu extra installs.

    Parameters:
        module: dotted name of the module to import (``'azure.storage.queue'``).
        extra: the kombu extra that installs it (``'azurestoragequeues'`` for
            ``pip install "kombu[azurestoragequeues]"``).
        purpose: what needs it, as the subject of the error message
            (``'The etcd transport'``).
        library: the library's name as users know it (default: the top-level
            package of ``module``).

    Returns:
        The imported module (as :func:`importlib.import_module` returns it).

    Raises:
        ImportError: ``'<purpose> requires the <library> library: pip install
            "kombu[<extra>]"'``, chained from the original error, with
            ``name`` set to the module that could not be imported.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        library = library or module.partition('.')[0]
        raise ImportError(
            f'{purpose} requires the {library} library: pip install "kombu[{extra}]"',
            name=exc.name or module) from exc
