// The Analyzer protocol's runtime pieces, loaded from the copies @pulumi/pulumi's generated stubs
// use (one @grpc/grpc-js and one google-protobuf instance, so messages and credentials match).

import * as path from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import * as analyzerGrpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerPb from "@pulumi/pulumi/proto/analyzer_pb";
import type * as emptyTypes from "google-protobuf/google/protobuf/empty_pb";
import type * as structTypes from "google-protobuf/google/protobuf/struct_pb";

const stubDir = path.dirname(require.resolve("@pulumi/pulumi/proto/analyzer_grpc_pb"));

function fromStubs<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(require.resolve(id, { paths: [stubDir] })) as T;
}

export const grpc = fromStubs<typeof grpcTypes>("@grpc/grpc-js");
export const Struct = fromStubs<typeof structTypes>("google-protobuf/google/protobuf/struct_pb").Struct;
export const Empty = fromStubs<typeof emptyTypes>("google-protobuf/google/protobuf/empty_pb").Empty;
export { analyzerGrpc, analyzerPb };
