"""ipywidgets panels for notebooks; each only calls tinykit's plain functions.

- :func:`tinykit.widgets.capture.capture_panel`: record labelled data from a port.
"""
