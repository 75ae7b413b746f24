"""Test what ships: the synthesized assembly (templates, staged assets) executed as AWS runs it."""
