/**
 * @imagespec/testing: the conformance suite every imagespec builder runs, ours and third parties'.
 *
 *   import { describeBuilderConformance } from "@imagespec/testing";
 *   describeBuilderConformance(() => createMyBuilder(), { supported: [...], refused: [...] });
 */

export {
  type BuilderConformanceOptions,
  type BuilderSource,
  type BuildFixture,
  checkEvent,
  describeBuilderConformance,
  type ErrorFixture,
  type ImageFixture,
} from "./conformance.js";
export {
  ALWAYS_REFUSED,
  type ConformanceFiles,
  type CorpusImage,
  conformanceCorpus,
  createBuildContext,
  createConformanceFiles,
  otherBuilderLayer,
  type TestBuildContextOptions,
  unknownLayer,
} from "./fixtures.js";
