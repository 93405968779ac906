"""Trees that are the same in many items' manifest entries (metadata shapes), built once per
profile and then copied: an lxml deep copy costs about what one element built from Python does,
whatever its size."""

from __future__ import annotations

from collections.abc import Callable, Hashable

from lxml import etree

from .profiles import Profile

_SHARED: dict[tuple[str, Hashable], etree._Element] = {}
_SHARED_MAX = 4096  # distinct shapes kept (both versions); beyond it a shape is built each time (same tree, only slower)


def shared(profile: Profile, key: Hashable, build: Callable[[], etree._Element]) -> etree._Element:
    """A copy of the tree ``build()`` makes, which depends on ``profile`` and ``key`` only."""
    proto = _SHARED.get((profile.key, key))
    if proto is None:
        proto = build()
        if len(_SHARED) >= _SHARED_MAX:
            return proto
        _SHARED[(profile.key, key)] = proto
    # lxml's __copy__ copies the whole subtree (what copy.deepcopy does, without its memo); called
    # directly, without copy.copy's lookup of it
    return proto.__copy__()  # type: ignore[attr-defined]  # lxml-stubs lack it (copy.copy's hook)
