"""Build the HTML template that makes ``dvc plots show`` / ``diff`` render offline.

DVC's default page loads Vega, Vega-Lite and Vega-Embed from a CDN, so its charts are
blank without internet. This template inlines the three libraries instead and leaves
out DVC's ``{scripts}`` placeholder, where those CDN tags would go. ``.dvc/config`` points
``plots.html_template`` at it. Rebuild it with ``make plots-template``.

``python -m mnist_mlp.tools.offline_plots OUT VEGA_JS VEGA_LITE_JS VEGA_EMBED_JS``
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mnist_mlp.cli import argument_parser
from mnist_mlp.io.files import write_bytes

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>DVC Plots</title>
<!-- {provenance} -->
{scripts}
<style>
body {{ font-family: sans-serif; }}
table {{ border-spacing: 15px; }}
</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def build_template(libraries: dict[str, str]) -> str:
    """The page with each library (``{name: JavaScript source}``) in its own script tag.

    A ``</script>`` inside a library would end its tag early, so it is escaped.
    """
    escaped = [source.replace("</script", "<\\/script") for source in libraries.values()]
    scripts = "\n".join(f"<script>\n{source}\n</script>" for source in escaped)
    return PAGE.format(provenance="inlined: " + ", ".join(libraries), scripts=scripts)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argument_parser(__doc__, params=False)
    parser.add_argument("out", type=Path)
    parser.add_argument("libraries", nargs="+", type=Path, help="name-version/.../file.min.js")
    args = parser.parse_args(argv)
    libraries = {
        path.parts[-4] if len(path.parts) >= 4 else path.name: path.read_text(encoding="utf-8")
        for path in args.libraries
    }
    write_bytes(args.out, build_template(libraries).encode())


if __name__ == "__main__":
    main()
