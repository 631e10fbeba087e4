/**
 * zod, as imagespec's packages write their schemas: `import { z } from "@imagespec/core/authoring"`. Core bundles zod
 * and keeps only what is used, so every command pays for one small copy: zod's full entry loads about 95 modules
 * (each locale, JSON Schema conversion) and cost a no-op build about 120 ms of its start. A plugin may use its own zod
 * instead; core only calls `safeParse` on a settings or fields schema. Only the schema builders are here: types
 * (`z.output`, `ZodType`) come from `zod` itself (`import type`), which costs nothing at run time.
 */

export {
  any,
  array,
  boolean,
  custom,
  discriminatedUnion,
  enum,
  int,
  lazy,
  literal,
  NEVER,
  never,
  null,
  nullable,
  number,
  object,
  optional,
  record,
  strictObject,
  string,
  tuple,
  union,
  unknown,
} from "zod";
