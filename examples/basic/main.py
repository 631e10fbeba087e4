import subprocess

import greeting

print(greeting.hello("imagespec"))
subprocess.run(["figlet", "-f", "small", "built by imagespec"], check=True)
