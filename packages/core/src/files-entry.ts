/**
 * @imagespec/core/files: hashing a folder or a file the way a tag counts it (`FileHasher`), and reading a hashed file's
 * bytes again (`readHashedFile`), without loading the rest of core (the model, zod, the engine). A script or tool
 * that only hashes pays for these modules alone; everything here is on the main entry too.
 */

export {
  FileHasher,
  type FileHasherOptions,
  type FolderEntry,
  type FolderSelection,
  type HashedFile,
  type IgnoreFile,
  type InputDigest,
  readHashedFile,
} from "./files.js";
