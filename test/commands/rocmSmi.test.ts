// The rocm-smi command lines run on Hemma (lib/commands/rocmSmi.ts), by string equality.
import * as rocmSmi from "../../lib/commands/rocmSmi";

describe("rocm-smi command lines", () => {
  it("status and doctor ask for the product names", () => {
    expect(rocmSmi.productName().join(" ")).toBe("rocm-smi --showproductname");
  });
  it("the verifier's GPU check and GPU attribution", () => {
    expect(rocmSmi.gpuFacts().join(" ")).toBe("rocm-smi --showproductname --showuse --showmemuse");
    expect(rocmSmi.useAndPids().join(" ")).toBe("rocm-smi --showuse --showpids");
  });
});
