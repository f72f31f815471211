"""Reports that document a finished run for people and tools: dataset card, EU AI Act summary."""
