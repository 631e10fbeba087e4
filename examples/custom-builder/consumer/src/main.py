import os

print(os.environ.get("GREETING", "hello"))
