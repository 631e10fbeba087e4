/**
 * The session's protobuf messages and gRPC service definitions, from the .proto subset in this package's `proto/`
 * folder (loaded once, on the first session). Messages are plain objects with the field names of the .proto files;
 * 64-bit integers are written and read as decimal strings, so nanosecond times stay exact.
 */

import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import protobuf from "protobufjs";

const PROTO_FILES = ["health.proto", "auth.proto", "secrets.proto", "sshforward.proto", "filesync-service.proto"];

/** The package's `proto/` folder: beside `src/` when run from source, beside `dist/` when installed. */
function protoFolder(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, "proto");
    if (existsSync(path.join(candidate, "filesync.proto"))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`Cannot start a BuildKit session: the .proto files of @imagespec/docker-build are missing (looked above ${fileURLToPath(import.meta.url)})`);
}

let loaded: protobuf.Root | undefined;

function root(): protobuf.Root {
  if (loaded === undefined) {
    const folder = protoFolder();
    const r = new protobuf.Root();
    // Imports name files of the same folder.
    r.resolvePath = (_origin, target) => path.join(folder, path.basename(target));
    r.loadSync(PROTO_FILES, { keepCase: true });
    r.resolveAll();
    loaded = r;
  }
  return loaded;
}

export type Message = Record<string, unknown>;

/** Encodes and decodes one message type. */
export function messageCodec(typeName: string): { encode(value: Message): Buffer; decode(bytes: Buffer): Message } {
  const type = root().lookupType(typeName);
  return {
    encode: (value) => Buffer.from(type.encode(type.fromObject(value)).finish()),
    decode: (bytes) => type.toObject(type.decode(bytes), { longs: String, enums: Number, bytes: Buffer, defaults: false }) as Message,
  };
}

/** A gRPC service definition for grpc-js, method names as in the .proto file. */
export function serviceDefinition(serviceName: string): ServiceDefinition {
  const service = root().lookupService(serviceName);
  const definition: Record<string, MethodDefinition<Message, Message>> = {};
  for (const method of Object.values(service.methods)) {
    method.resolve();
    const request = messageCodec(method.resolvedRequestType!.fullName.slice(1));
    const response = messageCodec(method.resolvedResponseType!.fullName.slice(1));
    definition[method.name] = {
      path: methodPath(serviceName, method.name),
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: request.encode,
      requestDeserialize: request.decode,
      responseSerialize: response.encode,
      responseDeserialize: response.decode,
      originalName: method.name,
    };
  }
  return definition;
}

/** `/package.Service/Method`, as gRPC routes a call and as BuildKit lists what a session serves. */
export function methodPath(serviceName: string, method: string): string {
  return `/${serviceName}/${method}`;
}
