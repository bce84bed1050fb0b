// A promise-based client for a policy pack's Analyzer gRPC service (GetAnalyzerInfo, Configure,
// Analyze, AnalyzeStack), using @pulumi/pulumi's generated stubs.
import { analyzerGrpc, analyzerPb, Empty, grpc, Struct } from "./analyzerProto";

export type Level = "advisory" | "mandatory" | "remediate" | "disabled";

export const LEVEL_NAMES: Record<number, Level> = {
  [analyzerPb.EnforcementLevel.ADVISORY]: "advisory",
  [analyzerPb.EnforcementLevel.MANDATORY]: "mandatory",
  [analyzerPb.EnforcementLevel.REMEDIATE]: "remediate",
  [analyzerPb.EnforcementLevel.DISABLED]: "disabled",
};

const LEVEL_VALUES: Record<Level, analyzerPb.EnforcementLevel> = {
  advisory: analyzerPb.EnforcementLevel.ADVISORY,
  mandatory: analyzerPb.EnforcementLevel.MANDATORY,
  remediate: analyzerPb.EnforcementLevel.REMEDIATE,
  disabled: analyzerPb.EnforcementLevel.DISABLED,
};

export interface PolicyInfo {
  name: string;
  description: string;
  level: Level;
  kind: "resource" | "stack";
  /** JSON-schema properties of the policy's config. */
  configProperties: Record<string, { default?: unknown; type?: unknown }>;
}

export interface PackInfo {
  name: string;
  version: string;
  policies: PolicyInfo[];
}

export interface Diagnostic {
  policyName: string;
  policyPackName: string;
  policyPackVersion: string;
  description: string;
  message: string;
  level: Level;
  /** The resource the diagnostic is about. */
  urn: string;
}

/** Per-policy config as sent with Configure. */
export type PolicyConfigMap = Record<string, { level: Level; properties: Record<string, unknown> }>;

type Unary<Req, Res> = (req: Req, cb: (err: Error | null, res: Res) => void) => unknown;

function call<Req, Res>(fn: Unary<Req, Res>, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

export class AnalyzerClient {
  private readonly client: analyzerGrpc.AnalyzerClient;

  constructor(port: number) {
    this.client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
      "grpc.max_send_message_length": 400 * 1024 * 1024,
    });
  }

  async getAnalyzerInfo(): Promise<PackInfo> {
    const info = await call<InstanceType<typeof Empty>, analyzerPb.AnalyzerInfo>(this.client.getAnalyzerInfo.bind(this.client), new Empty());
    return {
      name: info.getName(),
      version: info.getVersion(),
      policies: info.getPoliciesList().map((p) => ({
        name: p.getName(),
        description: p.getDescription(),
        level: LEVEL_NAMES[p.getEnforcementlevel()],
        kind: p.getPolicyType() === analyzerPb.PolicyType.POLICY_TYPE_STACK ? "stack" : "resource",
        configProperties: (p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}) as PolicyInfo["configProperties"],
      })),
    };
  }

  async configure(config: PolicyConfigMap): Promise<void> {
    const req = new analyzerPb.ConfigureAnalyzerRequest();
    const map = req.getPolicyconfigMap();
    for (const [name, c] of Object.entries(config)) {
      const pc = new analyzerPb.PolicyConfig();
      pc.setEnforcementlevel(LEVEL_VALUES[c.level]);
      pc.setProperties(Struct.fromJavaScript(c.properties as Parameters<typeof Struct.fromJavaScript>[0]));
      map.set(name, pc);
    }
    await call(this.client.configure.bind(this.client), req);
  }

  async analyze(req: analyzerPb.AnalyzeRequest): Promise<Diagnostic[]> {
    const res = await call<analyzerPb.AnalyzeRequest, analyzerPb.AnalyzeResponse>(this.client.analyze.bind(this.client), req);
    return diagnostics(res, req.getUrn());
  }

  async analyzeStack(req: analyzerPb.AnalyzeStackRequest): Promise<Diagnostic[]> {
    const res = await call<analyzerPb.AnalyzeStackRequest, analyzerPb.AnalyzeResponse>(this.client.analyzeStack.bind(this.client), req);
    return diagnostics(res, "");
  }

  close(): void {
    this.client.close();
  }
}

function diagnostics(res: analyzerPb.AnalyzeResponse, subject: string): Diagnostic[] {
  return res.getDiagnosticsList().map((d) => ({
    policyName: d.getPolicyname(),
    policyPackName: d.getPolicypackname(),
    policyPackVersion: d.getPolicypackversion(),
    description: d.getDescription(),
    message: d.getMessage(),
    level: LEVEL_NAMES[d.getEnforcementlevel()],
    urn: d.getUrn() || subject,
  }));
}
