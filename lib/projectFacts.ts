// The project's own facts, in one module: the Pulumi config namespace, the default stack, the
// label keys the program puts on what it creates (and the tools and policies read back), the
// default image and container names, and the shapes of a revision. The policy pack (policy/, a
// standalone package) keeps its own copies; test/policy/projectFacts.test.ts checks they agree.

/** The Pulumi project name: the config namespace (`sir-convert-a-lot:<key>`) and component type prefix. */
export const NAMESPACE = "sir-convert-a-lot";

/** The stack the tools work on unless --stack names another. */
export const DEFAULT_STACK = "hemma";

/** The reverse-DNS prefix of the project's own label keys (docker labels, the launchd service label). */
export const LABEL_DOMAIN = `org.${NAMESPACE}`;
export const LABEL_LANE = `${LABEL_DOMAIN}.lane`;
export const LABEL_PROFILE = `${LABEL_DOMAIN}.profile`;
export const LABEL_ROLE = `${LABEL_DOMAIN}.role`;
export const LABEL_TORCH_VERSION = `${LABEL_DOMAIN}.torch-version`;
/** The OCI label holding the source revision an image was built from. */
export const LABEL_REVISION = "org.opencontainers.image.revision";

/** Repository of the runtime image (config `image.name` default); its tags are revisions. */
export const DEFAULT_IMAGE_NAME = "sir-convert-a-lot-runtime";

/** A lane's container name unless config sets one (`sir_convert_a_lot_prod`, `..._eval`). */
export function containerNameFor(lane: string): string {
  return `sir_convert_a_lot_${lane}`;
}

/** The canary's container name. */
export const CANARY_CONTAINER_NAME = containerNameFor("canary");

/** A service revision: a full 40-character lowercase hex commit SHA (also the image tag). */
export const FULL_REVISION = /^[0-9a-f]{40}$/;

/** A revision as an operator may type it: a full SHA or an abbreviation of at least 7 characters. */
export const REVISION_PREFIX = /^[0-9a-f]{7,40}$/;
