"""Built-in art (avatars, map elements) and demo data served at /assets/."""
