"""The desk's devices that need Qt (issue 15): the document camera (``camera``: frame sources and its registry
driver) and the capture dialog (``capture_dialog``) that takes pages from the camera, a scanner or files."""
