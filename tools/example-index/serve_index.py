"""Builds the imagespec-greeting wheel from ./greeting and serves a PEP 503 index of it on 127.0.0.1, for the examples.

Prints the index URL on the first line of stdout, then serves until killed.
"""

import base64
import hashlib
import http.server
import io
import os
import sys
import tempfile
import zipfile

NAME, VERSION = "imagespec_greeting", "1.0.0"
HERE = os.path.dirname(os.path.abspath(__file__))


def build_wheel() -> tuple[str, bytes]:
    files = {}
    for folder, _, names in os.walk(os.path.join(HERE, "greeting")):
        for name in sorted(names):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                files[os.path.relpath(path, os.path.join(HERE, "greeting"))] = open(path, "rb").read()
    dist_info = f"{NAME}-{VERSION}.dist-info"
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: imagespec-greeting\nVersion: {VERSION}\n".encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: imagespec-example\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path in sorted(files):
            info = zipfile.ZipInfo(path, date_time=(2020, 1, 1, 0, 0, 0))
            wheel.writestr(info, files[path])
    return f"{NAME}-{VERSION}-py3-none-any.whl", buffer.getvalue()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    root = tempfile.mkdtemp(prefix="imagespec-example-index-")
    filename, data = build_wheel()
    project = os.path.join(root, "simple", "imagespec-greeting")
    os.makedirs(project)
    with open(os.path.join(project, filename), "wb") as f:
        f.write(data)
    sha = hashlib.sha256(data).hexdigest()
    with open(os.path.join(project, "index.html"), "w") as f:
        f.write(f'<!DOCTYPE html><html><body><a href="{filename}#sha256={sha}">{filename}</a></body></html>\n')
    with open(os.path.join(root, "simple", "index.html"), "w") as f:
        f.write('<!DOCTYPE html><html><body><a href="imagespec-greeting/">imagespec-greeting</a></body></html>\n')
    os.chdir(root)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *args: None
    print(f"http://127.0.0.1:{server.server_address[1]}/simple", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
