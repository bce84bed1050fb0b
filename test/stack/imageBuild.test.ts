// The runtime image build as the real docker provider runs it (terraform-provider-docker@v4.5.0,
// bridged by pulumi-docker as docker:index/remoteImage:RemoteImage, provider/resources.go):
// - resource_docker_image_funcs.go buildImage / legacyBuildDockerImage: use_legacy_builder=true
//   builds through the provider's own API client (its `host`), with a BuildKit session (API >= 1.39);
// - docker_buildx_build.go runBuild: builder.New(dockerCli, WithName(ResolveBuilderLikeBuildx(...)))
//   resolves the builder from the operator's current docker context, not from the provider's host;
// - the buildx path reads `label`, the legacy path `labels` (createImageBuildOptions in
//   resource_docker_registry_image_funcs.go);
// - resource_docker_image.go: Timeouts default 20 minutes; customTimeouts override it.
import { runStack, type StackRun, scratchCheckout } from "../harness/stack";
import { type BuildPath, buildDaemon, buildPath, effectiveTimeoutMinutes, IMAGE_DEFAULT_TIMEOUT_MINUTES, labelsOnImage } from "./providerModel";

const IMAGE = "docker:index/remoteImage:RemoteImage";
const REVISION_LABEL = "org.opencontainers.image.revision";
/** What `docker context use` points at on an operator's laptop: never Hemma. */
const LAPTOP_CONTEXT = "desktop-linux";

function build(run: StackRun): Record<string, any> {
  return run.plain(run.named(IMAGE, "runtime-image-build")).build;
}

describe.each(["ssh://hemma", "ssh://deploy@hemma:2222", "tcp://127.0.0.1:2376", "unix:///var/run/docker.sock"])("dockerHost %s", (dockerHost) => {
  let run: StackRun;
  beforeAll(async () => {
    run = await runStack({ set: { dockerHost } });
  });

  test("the build runs on the stack's docker host, whatever the operator's docker context or DOCKER_BUILDKIT", () => {
    const provider = run.named("pulumi:providers:docker", "hemma-docker");
    expect(provider.inputs.host).toBe(dockerHost);
    for (const env of [{}, { DOCKER_BUILDKIT: "1" }, { DOCKER_BUILDKIT: "0" }]) {
      const path = buildPath(build(run), env);
      expect(buildDaemon(path, String(provider.inputs.host), LAPTOP_CONTEXT)).toBe(dockerHost);
    }
  });
});

describe("runtime image build", () => {
  let run: StackRun;
  beforeAll(async () => {
    run = await runStack();
  });

  test.each<BuildPath>(["legacy", "buildx"])("the revision label reaches the image on the %s path", (path) => {
    const labels = labelsOnImage(path, build(run));
    expect(labels[REVISION_LABEL]).toBe(scratchCheckout().head);
    expect(labels["org.sir-convert-a-lot.torch-version"]).toBe("2.10.0+rocm7.1");
  });

  test("the build's create deadline is 90 minutes by default, not the provider's 20", () => {
    const image = run.named(IMAGE, "runtime-image-build");
    const minutes = effectiveTimeoutMinutes(image.options.customTimeouts?.create, IMAGE_DEFAULT_TIMEOUT_MINUTES);
    expect(minutes).toBe(90);
  });

  test("image.buildTimeoutMinutes sets the build's deadline", async () => {
    const longer = await runStack({ set: { image: { buildTimeoutMinutes: 240 } } });
    const image = longer.named(IMAGE, "runtime-image-build");
    expect(effectiveTimeoutMinutes(image.options.customTimeouts?.create, IMAGE_DEFAULT_TIMEOUT_MINUTES)).toBe(240);
  });

  test("the image the lanes run never builds, so it needs no build deadline", () => {
    const image = run.named(IMAGE, "runtime-image");
    expect(run.plain(image).build).toBeUndefined();
  });
});
