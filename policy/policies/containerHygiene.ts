// Advisory container hygiene: a /readyz healthcheck, a restart policy, rotated logs for service
// containers, and no privileged containers at all.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { asArray, asRecord, asString, CONTAINER, laneOf, show, violation } from "./model";

export const HEALTHCHECK = "readyz-healthcheck";
export const RESTART = "restart-policy";
export const LOG_ROTATION = "log-rotation";
export const NO_PRIVILEGED = "no-privileged";

const RESTARTING = ["always", "unless-stopped", "on-failure"];
/** Log drivers that keep logs on the docker host and therefore need rotation options. */
const LOCAL_FILE_DRIVERS = ["json-file", "local"];

export const readyzHealthcheck: ResourceValidationPolicy = {
  name: HEALTHCHECK,
  description: "Service containers have a healthcheck that probes /readyz.",
  enforcementLevel: "advisory",
  validateResource: (args, reportViolation) => {
    if (!laneOf(args)) return args.notApplicable("not a service container");
    const tests = asArray(asRecord(args.props.healthcheck).tests).filter((t): t is string => typeof t === "string");
    if (!tests.some((t) => t.includes("/readyz"))) {
      reportViolation(
        violation(
          HEALTHCHECK,
          args,
          "healthcheck.tests",
          show(tests.length ? tests : undefined),
          `probe http://127.0.0.1:<container port>/readyz (interval 30s, timeout 10s, retries 3, start period 15s)`,
        ),
      );
    }
  },
};

export const restartPolicy: ResourceValidationPolicy = {
  name: RESTART,
  description: "Service containers set a restart policy (unless-stopped, always or on-failure).",
  enforcementLevel: "advisory",
  validateResource: (args, reportViolation) => {
    if (!laneOf(args)) return args.notApplicable("not a service container");
    const restart = asString(args.props.restart);
    if (restart === undefined || !RESTARTING.includes(restart.split(":")[0])) {
      reportViolation(
        violation(RESTART, args, "restart", restart === undefined ? '(unset, docker default "no")' : show(restart), `set restart: "unless-stopped"`),
      );
    }
  },
};

export const logRotation: ResourceValidationPolicy = {
  name: LOG_ROTATION,
  description: "Service containers rotate their logs (json-file/local driver with max-size and max-file).",
  enforcementLevel: "advisory",
  validateResource: (args, reportViolation) => {
    if (!laneOf(args)) return args.notApplicable("not a service container");
    const driver = asString(args.props.logDriver) ?? "json-file";
    if (!LOCAL_FILE_DRIVERS.includes(driver)) return; // shipped off the host (journald, syslog, ...)
    const opts = asRecord(args.props.logOpts);
    for (const key of ["max-size", "max-file"]) {
      if (asString(opts[key]) === undefined) {
        reportViolation(
          violation(LOG_ROTATION, args, `logOpts.${key}`, "(unset)", `set logDriver "json-file" with logOpts {"max-size": "50m", "max-file": "5"}`),
        );
      }
    }
  },
};

export const noPrivileged: ResourceValidationPolicy = {
  name: NO_PRIVILEGED,
  description: "No container runs privileged; GPU access comes from device mappings and groups.",
  enforcementLevel: "advisory",
  validateResource: (args, reportViolation) => {
    if (args.type !== CONTAINER) return args.notApplicable("not a container");
    if (args.props.privileged === true) {
      reportViolation(
        violation(NO_PRIVILEGED, args, "privileged", "true", "remove privileged; map /dev/kfd and /dev/dri and add the video and render groups instead"),
      );
    }
  },
};
