// Every job this run submitted, until it is seen terminal. Jobs still open when a step gives up (the
// deadline, an error, an abort) are canceled through their own API's cancel route, and every
// cancellation is recorded: no verifier run leaves GPU work behind it on purpose. (The service does
// not stop a running conversion on cancel; the next GPU job waits for the GPU to go idle.)
import type { ServiceClient } from "../http/client";
import { describeResponse, TransportError } from "../http/client";

export interface OpenJob {
  api: "v1" | "v2";
  jobId: string;
  correlationId: string;
  title: string;
}

export interface Cancellation {
  jobId: string;
  title: string;
  route: string;
  /** HTTP status of the cancel request, or null when no response came. */
  status: number | null;
  seen: string;
  why: string;
  at: string;
}

const CANCEL_TIMEOUT_MS = 5_000;

export class JobRegistry {
  private readonly open = new Map<string, OpenJob>();
  readonly cancellations: Cancellation[] = [];

  add(job: OpenJob): void {
    this.open.set(job.jobId, job);
  }

  /** The job reached a terminal state (nothing left to cancel). */
  done(jobId: string): void {
    this.open.delete(jobId);
  }

  pending(): OpenJob[] {
    return [...this.open.values()];
  }

  async cancel(client: ServiceClient, jobId: string, why: string): Promise<Cancellation | undefined> {
    const job = this.open.get(jobId);
    if (!job) return undefined;
    this.open.delete(jobId);
    const route = `/${job.api}/convert/jobs/${job.jobId}/cancel`;
    let status: number | null = null;
    let seen: string;
    try {
      const res = await client.send(
        { method: "POST", path: route, auth: true, headers: { "x-correlation-id": job.correlationId }, label: `cancel_${job.jobId}`, ignoreRunSignal: true },
        CANCEL_TIMEOUT_MS,
      );
      status = res.status;
      seen = res.status === 202 || res.status === 200 ? `HTTP ${res.status}` : describeResponse(res);
    } catch (error) {
      seen = error instanceof TransportError ? error.message : String(error);
    }
    const record: Cancellation = { jobId, title: job.title, route: `POST ${route}`, status, seen, why, at: new Date().toISOString() };
    this.cancellations.push(record);
    return record;
  }

  async cancelAll(client: ServiceClient, why: string): Promise<Cancellation[]> {
    const all = await Promise.all(this.pending().map((j) => this.cancel(client, j.jobId, why)));
    return all.filter((c): c is Cancellation => c !== undefined);
  }
}
