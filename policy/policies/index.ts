// The pack's policy list, in the order they are reported.
import type { Policies } from "@pulumi/policy";
import { apiKeySecret } from "./apiKeySecret";
import { apiKeySource } from "./apiKeySource";
import { logRotation, noPrivileged, readyzHealthcheck, restartPolicy } from "./containerHygiene";
import { dataRootSeparation } from "./dataRootSeparation";
import { gpuDevices } from "./gpuDevices";
import { gpuFirstEnv } from "./gpuFirstEnv";
import { immutableImage } from "./immutableImage";
import { loopbackOnly } from "./loopbackOnly";
import { protectedData } from "./protectedData";
import { rocmTorchPins } from "./rocmTorchPins";
import { uniqueHostPorts } from "./uniqueHostPorts";
import { verificationPresent } from "./verificationPresent";

export const policies: Policies = [
  gpuDevices,
  gpuFirstEnv,
  rocmTorchPins,
  dataRootSeparation,
  loopbackOnly,
  uniqueHostPorts,
  immutableImage,
  protectedData,
  verificationPresent,
  apiKeySecret,
  apiKeySource,
  readyzHealthcheck,
  restartPolicy,
  logRotation,
  noPrivileged,
];
