"""The allocator setting the trainer makes."""

import sys

from lrlc.experiments.run.memory import keep_freed_memory


def test_keep_freed_memory_takes_effect_on_linux_and_is_idempotent():
    first = keep_freed_memory()
    assert first == sys.platform.startswith("linux")
    assert keep_freed_memory() == first
