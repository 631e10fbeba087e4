import { ImageSpec } from "@imagespec/core";

/**
 * spec.yaml written as a TypeScript ImageSpec: the same fields in camelCase, validated by the same schema, so the
 * same tag. `imagespec tag images.ts` and `imagespec tag --image spec.yaml` print the same URI.
 */
export const spec = new ImageSpec({
  name: "imagespec-example/yaml",
  pythonVersion: "3.11",
  aptPackages: ["figlet"],
  env: { GREETING: "Hello from a YAML spec" },
  copy: ["app.py"],
  commands: ["python -m py_compile /root/app.py"],
  entrypoint: ["python", "/root/app.py"],
});
