"""The desk's devices (issue 15): the 二代身份证 reader, the document camera (高拍仪), the scanner and the
QR/barcode scanner. Each is optional; without one nothing changes.

``base``: what every driver offers (kind, name, Chinese label, ``available()``, ``test()``) and the desk's
device settings (``devices.json`` in the data folder). ``registry``: the drivers known to this build, the
configured one of each kind, the last error. Drivers that need Qt (the camera) live in ``ui/devices`` and are
registered by ``main.py`` (app/ never imports Qt).
"""
