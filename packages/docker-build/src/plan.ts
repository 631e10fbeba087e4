/** What rendering an image gives the builder: the Dockerfile and everything needed to build it. */

import type { SecretMount, SshMount } from "@imagespec/core/authoring";

/** One entry of the build context: exactly the files the layers reference, nothing else. */
export type ContextItem =
  /** A local file (absolute `source`), sent as `path`, with the bytes and mode the tag was computed from. */
  | { readonly type: "file"; readonly path: string; readonly source: string }
  /** A local folder, sent below `path`: the entries the tag was computed from (its ignore rules already applied). */
  | { readonly type: "folder"; readonly path: string; readonly source: string; readonly select: "all" | "tracked" }
  /**
   * Generated content (the Dockerfile, the runtime-packages wrapper). `derivedFrom`: it was made from the bytes of a
   * hashed file (a user's Dockerfile), whose digest must still be the one in the tag.
   */
  | {
      readonly type: "content";
      readonly path: string;
      readonly content: Uint8Array;
      readonly executable: boolean;
      readonly derivedFrom?: { readonly source: string; readonly digest: string };
    };

/** Where a build step (an instruction BuildKit shows as `[n/m]`) came from, so a failure names its layer. */
export interface StepOrigin {
  /** The instruction as written in the Dockerfile. */
  readonly instruction: string;
  /** FROM, RUN, COPY, ADD or WORKDIR. */
  readonly keyword: string;
  /** 1-based position among the stage's steps, as BuildKit counts them. */
  readonly number: number;
  /** The stage name for helper stages, undefined for the image's own stage. */
  readonly stage: string | undefined;
  readonly layerIndex: number | undefined;
  readonly layerKind: string | undefined;
  /** What the step does, in the user's words where there are some (the command, the pip install line). */
  readonly description: string;
}

export interface DockerBuildPlan {
  readonly dockerfile: string;
  /** Name of the Dockerfile inside the context. */
  readonly dockerfileName: string;
  /** Build arguments the Dockerfile needs (environment values with line breaks). */
  readonly buildArgs: Readonly<Record<string, string>>;
  readonly context: readonly ContextItem[];
  /** Secrets the steps mount, by id; their values are read only when the build runs. */
  readonly secrets: readonly SecretMount[];
  /** SSH agents the steps mount, by id; where their keys come from is read only when the build runs. */
  readonly ssh: readonly SshMount[];
  readonly steps: readonly StepOrigin[];
  /** Every image the Dockerfile starts from (the base and helper stages), for credentials. */
  readonly baseReferences: readonly string[];
}
