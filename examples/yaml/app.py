import os
import subprocess
import sys

print(f"{os.environ['GREETING']} (Python {sys.version_info.major}.{sys.version_info.minor})", flush=True)
subprocess.run(["figlet", "-f", "small", "yaml"], check=True)
