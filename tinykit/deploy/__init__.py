"""Deploy: the board registry, export, project generation, flashing and the C writer.

    files = tinykit.deploy.export(tfl, "build/kws", labels=ds.labels, features=settings)
    project = tinykit.deploy.generate(tfl, board="nano33ble", app="gesture",
                                      labels=ds.labels, features=imu_settings)
    tinykit.deploy.flash(project, port="/dev/ttyACM0")
"""
from . import codegen
from .boards import Board, Fit, board, boards, boards_root, fit_report, fit_table
from .flash import arduino_setup, flash, require_tool
from .project import Project, export, generate
from .device import DeviceEvaluation, evaluate_on_device
