import platform

from layered_common import banner

banner("report")
print(f"report app: Python {platform.python_version()}", flush=True)
