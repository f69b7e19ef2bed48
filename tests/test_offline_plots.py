"""The offline template for `dvc plots`: libraries inlined, DVC's placeholders right."""

from __future__ import annotations

import re

from mnist_mlp.tools.offline_plots import build_template
from tests.helpers import PROJECT_ROOT


def test_build_template_inlines_and_escapes() -> None:
    page = build_template({"lib-1.0": "var a = '</script>';", "other-2.0": "var b = 1;"})
    assert "{plot_divs}" in page and "{scripts}" not in page
    assert page.count("<script>") == 2 and page.count("</script>") == 2
    assert "<\\/script>" in page
    assert "inlined: lib-1.0, other-2.0" in page


def test_shipped_template_is_configured_and_self_contained() -> None:
    config = (PROJECT_ROOT / ".dvc/config").read_text()
    assert "html_template = ../templates/dvc_plots.html" in config
    page = (PROJECT_ROOT / "templates/dvc_plots.html").read_text()
    assert page.count("{plot_divs}") == 1 and "{scripts}" not in page
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", page)
    # The globals DVC's plot divs call: each library's own UMD export, inlined.
    assert page.count("<script>") == 3
    for export in ("vegaEmbed", "vegaLite", '"vega"'):
        assert export in page
