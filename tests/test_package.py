"""`import tinykit` gives every step as an attribute, loaded on first use."""
import pkgutil

import tinykit


def test_every_public_module_is_an_attribute():
    names = [m.name for m in pkgutil.iter_modules(tinykit.__path__)
             if not m.name.startswith("_") and m.name != "cli"]
    for name in names:
        assert getattr(tinykit, name).__name__ == f"tinykit.{name}"
