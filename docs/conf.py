"""Sphinx configuration of cnncore's documentation.

Build from the repository root, with cnncore installed (``pip install ".[docs]"``):

    sphinx-build -W -b html docs docs/_build/html

The API reference is generated from the docstrings of the *installed* cnncore:
nothing here puts the source tree on ``sys.path`` (a fresh clone has no compiled
extensions in it).  The figures are drawn by the scripts in ``figures/`` at build
time (matplotlib's plot directive), from cnncore's own geometry functions.
"""
import cnncore

project = "cnncore"
author = "the cnncore authors"
copyright = "the cnncore authors"
version = release = cnncore.__version__

extensions = [
    "myst_parser",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "figures"]
templates_path = ["_templates"]

# MyST: ::: fences, anchors for "#section" links (no math: the one equation is a
# figure, so that the pages need nothing from the network)
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# API reference: one generated page per function and class (in api/generated/)
autosummary_generate = True
autodoc_typehints = "none"
autodoc_member_order = "bysource"
numpydoc_show_class_members = False     # the class template lists the members itself
numpydoc_class_members_toctree = False

# figures: SVG only, no source or format links beside them
plot_formats = ["svg"]
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_rcparams = {"font.size": 10, "savefig.bbox": "tight"}

html_theme = "pydata_sphinx_theme"
html_title = f"cnncore {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
# the section navigation only where there are sections (the API reference)
html_sidebars = {page: [] for page in ("index", "getting_started", "conventions", "design",
                                       "course")}
html_sidebars["**"] = ["sidebar-nav-bs"]
html_show_sourcelink = False
