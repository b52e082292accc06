"""Deploy: the board registry, project generation, flashing and the C writer.

    project = tinykit.deploy.generate(tfl, board="nano33ble", app="gesture",
                                      labels=ds.labels, settings={...})
    tinykit.deploy.flash(project, port="/dev/ttyACM0")
"""
from . import codegen
from .boards import Board, board, boards, boards_root
from .flash import flash, require_tool
from .project import Project, generate, write_model_sources
