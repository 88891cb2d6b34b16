"""The world's building blocks: avatars, elements, maps and their areas."""
