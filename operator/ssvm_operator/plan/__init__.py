"""Pure planning: (spec, snapshot, now, in-flight, memory) -> actions with reasons. Nothing here does I/O."""
