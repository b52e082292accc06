"""Deploy: the board registry, project generation and flashing.

    project = tinykit.deploy.generate(tfl, board="nano33ble", app="gesture",
                                      labels=ds.labels, settings={...})
    tinykit.deploy.flash(project, port="/dev/ttyACM0")
"""
from .boards import Board, board, boards, boards_root
from .codegen import op_resolver_header, resolver_method
from .flash import flash, require_tool
from .project import Project, generate, write_model_sources
