import subprocess

import greeting

print(greeting.hello("imagespec"), flush=True)
subprocess.run(["figlet", "-f", "small", "built by imagespec"], check=True)
