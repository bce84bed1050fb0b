// liveness: /healthz answers status ok with the expected revision and profile (no API key needed), and
// a job route refuses a request without the key (401 auth_invalid_api_key) but accepts the configured key.
import { describeResponse, errorEnvelope } from "../http/client";
import { healthzSchema, parseJsonWith } from "../schemas";
import { type Check, fact } from "./context";

/** A syntactically valid job id that does not exist. */
export const PROBE_JOB_ID = "job_00000000000000000000000000";

export const livenessCheck: Check = async (ctx, rec) => {
  const { expectedRevision, profile } = ctx.opts;

  await rec.step("healthz", async () => {
    const res = await ctx.client.sendRetrying({ method: "GET", path: "/healthz", label: "healthz" }, ctx.deadline);
    if (res.status !== 200) {
      rec.fail(fact("healthz", "HTTP 200 from GET /healthz", describeResponse(res)));
      return;
    }
    const body = parseJsonWith(healthzSchema, res.text(), "GET /healthz");
    if (body.service_revision !== expectedRevision && !body.service_revision.startsWith(expectedRevision)) {
      rec.fail(fact("service_revision", `healthz service_revision ${expectedRevision}`, body.service_revision));
    }
    if (body.service_profile !== profile) {
      rec.fail(fact("service_profile", `healthz service_profile ${profile}`, body.service_profile));
    }
    rec.note(`healthz ok: revision ${body.service_revision}, profile ${body.service_profile}, started ${body.started_at}`);
  });

  const jobPath = `/v1/convert/jobs/${PROBE_JOB_ID}`;
  await rec.step("auth-required", async () => {
    const res = await ctx.client.sendRetrying({ method: "GET", path: jobPath, label: "auth_without_key" }, ctx.deadline);
    const code = errorEnvelope(res)?.error.code;
    if (res.status !== 401 || code !== "auth_invalid_api_key") {
      rec.fail(fact("auth", `GET ${jobPath} without X-API-Key refused with 401 auth_invalid_api_key`, describeResponse(res)));
    } else {
      rec.note("job route refuses a request without the key");
    }
  });

  await rec.step("auth-accepted", async () => {
    const res = await ctx.client.sendRetrying({ method: "GET", path: jobPath, auth: true, label: "auth_with_key" }, ctx.deadline);
    const code = errorEnvelope(res)?.error.code;
    if (res.status !== 404 || code !== "job_not_found") {
      rec.fail(fact("auth", `the configured API key accepted (404 job_not_found for GET ${jobPath})`, describeResponse(res)));
    } else {
      rec.note("API key accepted");
    }
  });
};
