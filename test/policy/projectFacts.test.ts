// The policy pack (policy/, a standalone package) keeps its own copies of the project's facts;
// they must agree with lib/projectFacts.ts (and lib/serviceContract.ts), or a policy would check a
// label or revision shape the program never produces.
import * as facts from "../../lib/projectFacts";
import * as contract from "../../lib/serviceContract";
import * as immutableImage from "../../policy/policies/immutableImage";
import * as model from "../../policy/policies/model";

describe("the policy pack's copies of the project facts", () => {
  it("label keys", () => {
    expect([model.LABEL_LANE, model.LABEL_PROFILE, model.LABEL_ROLE, model.LABEL_REVISION]).toEqual([
      facts.LABEL_LANE,
      facts.LABEL_PROFILE,
      facts.LABEL_ROLE,
      facts.LABEL_REVISION,
    ]);
  });

  it("revision shape and the default image name", () => {
    expect(immutableImage.REVISION.source).toBe(facts.FULL_REVISION.source);
    expect(immutableImage.REVISION.flags).toBe(facts.FULL_REVISION.flags);
    expect(immutableImage.DEFAULT_IMAGE_NAME).toBe(facts.DEFAULT_IMAGE_NAME);
  });

  it("the service's API key variable and fallback key", () => {
    expect([model.API_KEY_VAR, model.SERVICE_FALLBACK_API_KEY]).toEqual([contract.API_KEY_ENV, contract.SERVICE_FALLBACK_API_KEY]);
  });
});
