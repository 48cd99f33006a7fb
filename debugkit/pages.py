"""What every self-contained page debugkit writes or serves shares: templates with autoescaping, one
inline style sheet from the package, and a Content-Security-Policy that allows that sheet by its hash.

Used by the fleet overview (:mod:`debugkit.fleet.html`) and the index of ``debugkit serve``
(:mod:`debugkit.serve.page`).
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from jinja2 import Environment, PackageLoader, StrictUndefined


@cache
def environment(package: str) -> Environment:
    """The jinja2 environment of ``package``'s ``templates/`` folder: autoescaping on, undefined names fatal."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def package_css(package: str, name: str) -> str:
    """A style sheet of ``package``'s templates, checked to be safe inside ``<style>``."""
    env = environment(package)
    assert env.loader is not None
    css = env.loader.get_source(env, name)[0]
    if "</style" in css.lower() or "<!--" in css:
        raise RuntimeError(f"{name} must not contain </style or <!--")
    return css


def csp_hash(text: str) -> str:
    """``sha256-<base64>`` of an inline sheet or script, for a Content-Security-Policy source."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def style_only_csp(css: str) -> str:
    """A policy that allows nothing but this one inline style sheet: no script, no image, no other origin."""
    return f"default-src 'none'; style-src '{csp_hash(css)}'; base-uri 'none'; form-action 'none'"
