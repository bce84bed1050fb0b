// Every rocm-smi command line the project runs on Hemma, as pure argv builders (tested by string
// equality in test/commands/rocmSmi.test.ts); the parsers of their output are verify/host/rocmSmi.ts.

/** The GPUs' product names: enough to see whether rocm-smi lists a GPU (status, doctor). */
export function productName(): string[] {
  return ["rocm-smi", "--showproductname"];
}

/** Product name, GPU use and memory use (the verifier's GPU check). */
export function gpuFacts(): string[] {
  return ["rocm-smi", "--showproductname", "--showuse", "--showmemuse"];
}

/** GPU use and the KFD processes using the GPU (the verifier's GPU attribution). */
export function useAndPids(): string[] {
  return ["rocm-smi", "--showuse", "--showpids"];
}
