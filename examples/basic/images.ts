import { Image } from "@imagespec/core";

/**
 * A Python image with a Debian package and a pip package. The pip package comes from the index in
 * EXAMPLE_INDEX_URL (run.sh serves one on 127.0.0.1, since these machines cannot reach PyPI).
 */
export const basic = Image.fromDebianBase({ pythonVersion: "3.11", name: "imagespec-example/basic" })
  .withAptPackages("figlet")
  .withPipPackages("imagespec-greeting==1.0.0", { indexUrl: process.env.EXAMPLE_INDEX_URL ?? "https://pypi.org/simple" })
  .withSourceFile("main.py", "/app/main.py")
  .withEntrypoint(["python", "/app/main.py"]);
