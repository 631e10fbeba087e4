/**
 * The image's `builderOptions` a Docker build reads: the helper and base images that change what is built. They are
 * builderOptions, not builderConfig, because they change the image: builderOptions enter the tag (and the image id),
 * so two different CUDA bases never share one tag. Each value is checked against the reference grammar here, when the
 * builder is chosen, and written into the Dockerfile through core's `dockerfileImageReference`.
 */

import type { Image } from "@imagespec/core";
import { grammar, type ValidationIssue, z } from "@imagespec/core/authoring";

export interface DockerBuildOptions {
  /** The NVIDIA CUDA base for `withCuda`: a template with `{cuda}` and `{cudnn}` (`cudnn-`, `cudnn8-` or empty). */
  readonly cudaImage?: string;
  /** The image micromamba is taken from, for conda packages and CUDA images. */
  readonly micromambaImage?: string;
}

export const DEFAULT_MICROMAMBA_IMAGE = "mambaorg/micromamba:2.0.5";
/** `{cudnn}` becomes `cudnn-` for cuDNN 9 and later (NVIDIA's tags drop the number), `cudnn8-` for 8, empty without. */
export const DEFAULT_CUDA_IMAGE = "nvidia/cuda:{cuda}-{cudnn}runtime-ubuntu22.04";

/** The NVIDIA CUDA image for a CUDA (and cuDNN) version: `{cudnn}` is `cudnn-` for cuDNN 9+, `cudnn8-` for 8. */
export function cudaImage(template: string, cuda: string, cudnn: string | undefined): string {
  const major = cudnn === undefined ? undefined : Number.parseInt(cudnn, 10);
  const cudnnPart = major === undefined ? "" : major >= 9 ? "cudnn-" : `cudnn${major}-`;
  return template.replaceAll("{cuda}", cuda).replaceAll("{cudnn}", cudnnPart);
}

function checkCudaTemplate(template: string): string | undefined {
  const unknown = (template.match(/\{[^}]*\}/g) ?? []).find((p) => p !== "{cuda}" && p !== "{cudnn}");
  if (unknown !== undefined) return `unknown placeholder ${unknown}; the placeholders are {cuda} and {cudnn}`;
  for (const cudnn of [undefined, "8", "9"]) {
    if (grammar.checkImageReference(cudaImage(template, "12.4.1", cudnn)) !== undefined) {
      return "with {cuda} and {cudnn} filled in, it must be an image reference ([registry/]name[:tag]), e.g. nvidia/cuda:{cuda}-{cudnn}runtime-ubuntu22.04";
    }
  }
  return undefined;
}

const reference = (check: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const problem = check(value);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  });

const schema = z
  .object({
    cudaImage: reference(checkCudaTemplate).optional(),
    micromambaImage: reference(grammar.checkImageReference).optional(),
  })
  .strict();

/** The builderOptions keys a Docker build takes. */
export const DOCKER_BUILD_OPTION_KEYS: readonly string[] = Object.freeze(Object.keys(schema.shape));

/** The image's builderOptions as a Docker build reads them, or every problem, each naming `builderOptions.<key>`. */
export function readDockerBuildOptions(image: Image): { options: DockerBuildOptions; issues: ValidationIssue[] } {
  const input = image.builderOptions ?? {};
  const result = schema.safeParse(input);
  if (result.success) return { options: result.data, issues: [] };
  const issues: ValidationIssue[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        issues.push({
          field: `builderOptions.${key}`,
          value: input[key],
          message: `is not a builder option of the Docker builders (they take ${DOCKER_BUILD_OPTION_KEYS.join(" and ")}; settings that do not change the image belong in builderConfig)`,
        });
      }
    } else {
      const key = String(issue.path[0] ?? "");
      issues.push({ field: `builderOptions.${key}`, value: input[key], message: issue.code === "invalid_type" ? "expected a string" : issue.message });
    }
  }
  return { options: {}, issues };
}
