"""metaverse: a self-hostable 2D virtual space with proximity video calls and spatial chat."""

__version__ = "0.1.0"
