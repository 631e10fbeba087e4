# /// script
# requires-python = ">=3.11"
# dependencies = [
#   "requests>=2.25",
# ]
# ///
"""Prints which Python runs it and which requests it imported: both chosen by the block above."""

import sys

import requests

print(f"report: Python {sys.version_info.major}.{sys.version_info.minor}, requests {requests.__version__}")
