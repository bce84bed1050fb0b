// The docker command lines run on Hemma (lib/commands/docker.ts), by string equality.
import * as docker from "../../lib/commands/docker";

const line = (argv: string[]) => ["docker", ...argv].join(" ");

describe("docker command lines", () => {
  it("images", () => {
    expect(line(docker.imageInspect("{{.Id}}", ["a:1", "b:2"]))).toBe("docker image inspect --format {{.Id}} a:1 b:2");
    expect(line(docker.imageList("sir-convert-a-lot-runtime"))).toBe("docker image ls --no-trunc --format {{json .}} sir-convert-a-lot-runtime");
    expect(line(docker.imageRemove("sir-convert-a-lot-runtime:abc"))).toBe("docker image rm sir-convert-a-lot-runtime:abc");
  });

  it("containers", () => {
    expect(line(docker.containerList())).toBe("docker ps -a --no-trunc --format {{json .}}");
    expect(line(docker.containerImageIds(["c1", "c2"]))).toBe("docker container inspect --format {{.Id}} {{.Image}} c1 c2");
    expect(line(docker.containerInspect("sir_convert_a_lot_prod"))).toBe("docker container inspect --format {{json .}} sir_convert_a_lot_prod");
    expect(line(docker.containerStateInspect("c"))).toBe("docker inspect --format {{json .State}} c");
    expect(line(docker.runningNames())).toBe("docker ps --format {{.Names}}");
    expect(line(docker.publishedPorts())).toBe("docker ps --format {{.Names}}\t{{.Ports}}");
    expect(line(docker.top("c"))).toBe("docker top c");
    expect(line(docker.version())).toBe("docker version --format {{json .}}");
  });

  it("logs: --since, --tail, --follow in that order, each only when asked", () => {
    expect(line(docker.logs("c", { follow: true, since: "10m", tail: 50 }))).toBe("docker logs --since 10m --tail 50 --follow c");
    expect(line(docker.logs("c", { follow: false }))).toBe("docker logs c");
    expect(line(docker.logs("c", { follow: false, tail: 0 }))).toBe("docker logs --tail 0 c");
  });

  it("--since accepts docker's durations and timestamps only", () => {
    for (const ok of ["10m", "1h30m", "45s", "2026-03-01", "2026-03-01T10:00:00Z", "1767225600"]) expect(docker.SINCE_PATTERN.test(ok)).toBe(true);
    for (const bad of ["10 m", "yesterday", "-1h", "10m;rm"]) expect(docker.SINCE_PATTERN.test(bad)).toBe(false);
  });
});
