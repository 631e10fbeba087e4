from layered_common import banner

MESSAGE = "hello"

banner(MESSAGE)
print(f"hello app: {MESSAGE}", flush=True)
