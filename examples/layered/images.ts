import { Image } from "@imagespec/core";

/**
 * The shared base: a Debian package and the team's common Python code. Built once; both apps start from it.
 * Its tag depends only on this definition and on the files under shared/, never on the apps.
 */
export const base = Image.fromDebianBase({ pythonVersion: "3.11", name: "imagespec-example/layered-base" })
  .withAptPackages("figlet")
  .withSourceFolder("shared", "/opt/shared")
  .withEnvVars({ PYTHONPATH: "/opt/shared" });

/** An app on top of the base. Its tag includes the base's tag and the files under apps/hello. */
export const hello = Image.fromBase(base, { name: "imagespec-example/layered-hello" })
  .withSourceFolder("apps/hello", "/app")
  .withEntrypoint(["python", "/app/main.py"]);

/** A second app on the same base: changing apps/hello leaves its tag alone, so it is never rebuilt for that. */
export const report = Image.fromBase(base, { name: "imagespec-example/layered-report" })
  .withSourceFolder("apps/report", "/app")
  .withEntrypoint(["python", "/app/main.py"]);
