"""Running asyncio code from this trio-mode suite: plain sync tests that start a loop each."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

LIMIT = 10.0
"""Seconds any asyncio test may take."""


def run(main: Callable[[], Awaitable[T]], seconds: float = LIMIT) -> T:
    """Run ``main()`` on a fresh event loop, bounded by ``seconds``."""

    async def bounded() -> T:
        async with asyncio.timeout(seconds):
            return await main()

    return asyncio.run(bounded())
