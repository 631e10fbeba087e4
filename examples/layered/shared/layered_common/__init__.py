"""Code both apps share. It lives in the base image at /opt/shared (on PYTHONPATH)."""

import subprocess


def banner(text: str) -> None:
    """Prints text large, with figlet from the base image's apt layer."""
    subprocess.run(["figlet", "-f", "small", text], check=True)
