"""Spaces: instances of a map that people enter, their elements, areas and members."""
