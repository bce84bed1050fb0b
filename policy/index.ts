// CrossGuard policy pack for the Sir Convert-a-Lot Hemma stack. Loaded by the Pulumi engine
// (`pulumi preview|up --policy-pack policy`) or by the offline gate (`npm run policy:check`),
// both through @pulumi/pulumi/cmd/run-policy-pack. Policies: docs/policy.md.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("sir-convert-a-lot-hemma", {
  description: "GPU-first, data-root separation, loopback-only, immutable images and protected data for Sir Convert-a-Lot on Hemma.",
  enforcementLevel: "advisory",
  policies,
});
