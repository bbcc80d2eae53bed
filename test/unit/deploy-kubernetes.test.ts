// What `kubectl kustomize deploy/k8s/overlays/production` renders: probes, resources, a non-root
// security context and secrets by reference on every container; variables server/config.ts knows and
// production start-up accepts; the migration Job; an Ingress, PDBs, HPAs and NetworkPolicies that
// select what they are meant to.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../server/config.js';
import { configVariables, isSecretVariable, standIn, urlCredentials } from './deploy-support.js';

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; configMapKeyRef?: unknown };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; privileged?: boolean; capabilities?: { drop?: string[]; add?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; secret?: { secretName: string; items?: { key: string; path: string }[] } }[];
  hostNetwork?: boolean;
}
interface Resource {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  // Each kind's own fields, narrowed where used.
  spec?: Record<string, unknown> & { template?: { metadata?: { labels?: Record<string, string> }; spec: PodSpec } };
}

const overlay = fileURLToPath(new URL('../../deploy/k8s/overlays/production', import.meta.url));
const rendered = execFileSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
const resources = parseAllDocuments(rendered).map((doc) => doc.toJS() as Resource);

const ofKind = (kind: string) => resources.filter((r) => r.kind === kind);
const named = (kind: string, name: string): Resource => {
  const found = resources.find((r) => r.kind === kind && r.metadata.name === name);
  if (!found) throw new Error(`${kind}/${name} is not rendered`);
  return found;
};
const workloads = [...ofKind('Deployment'), ...ofKind('Job')];
const podOf = (workload: Resource): PodSpec => workload.spec!.template!.spec;
const containersOf = (workload: Resource): Container[] => [...podOf(workload).containers, ...(podOf(workload).initContainers ?? [])];
const configMap = ofKind('ConfigMap').find((c) => c.metadata.name.startsWith('facesign-config'));
const matches = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const podLabels = (name: string) => named('Deployment', name).spec!.template!.metadata?.labels;

/** The environment a container starts with, secrets filled in with stand-ins. */
function environmentOf(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.configMapRef) Object.assign(env, ofKind('ConfigMap').find((c) => c.metadata.name === source.configMapRef!.name)?.data);
  }
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    if (variable.value !== undefined) env[variable.name] = variable.value;
    else if (ref && !ref.optional) env[variable.name] = standIn(variable.name);
  }
  return env;
}

describe('kubectl kustomize deploy/k8s/overlays/production', () => {
  it('renders the api and worker Deployments, the migration Job, a Service, an Ingress, PDBs, HPAs and NetworkPolicies', () => {
    expect(ofKind('Deployment').map((d) => d.metadata.name).sort()).toEqual(['facesign-api', 'facesign-worker']);
    expect(containersOf(named('Job', 'facesign-migrate')).map((c) => c.args)).toEqual([['migrate']]);
    for (const kind of ['Service', 'Ingress', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'ConfigMap']) {
      expect(ofKind(kind).length, kind).toBeGreaterThan(0);
    }
    expect(new Set(resources.map((r) => r.metadata.namespace))).toEqual(new Set(['facesign']));
  });

  it('runs each role from the released image, never :latest', () => {
    const images = new Set(workloads.flatMap((w) => containersOf(w).map((c) => c.image)));
    expect(images.size).toBe(1);
    expect([...images][0]).toMatch(/^[a-z0-9.-]+(\/[a-z0-9._-]+)+(:\d+\.\d+\.\d+[A-Za-z0-9._-]*|@sha256:[a-f0-9]{64})$/);
    expect(envOf('facesign-api').FACESIGN_ROLES).toBe('api');
    expect(envOf('facesign-worker').FACESIGN_ROLES).toBe('worker');
  });

  it('probes every long-running container: /healthz for liveness, /readyz for readiness, on the port it listens on', () => {
    for (const deployment of ofKind('Deployment')) {
      for (const container of containersOf(deployment)) {
        const where = `${deployment.metadata.name}/${container.name}`;
        expect(container.livenessProbe?.httpGet?.path, where).toBe('/healthz');
        expect(container.readinessProbe?.httpGet?.path, where).toBe('/readyz');
        const port = container.ports?.find((p) => p.name === container.readinessProbe?.httpGet?.port);
        expect(port?.containerPort, where).toBe(Number(environmentOf(container).PORT));
      }
    }
  });

  it('gives every container CPU and memory requests and limits', () => {
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        const where = `${workload.metadata.name}/${container.name}`;
        for (const part of ['requests', 'limits'] as const) {
          expect(container.resources?.[part]?.cpu, `${where} ${part}.cpu`).toBeDefined();
          expect(container.resources?.[part]?.memory, `${where} ${part}.memory`).toBeDefined();
        }
      }
    }
  });

  it('runs every container as non-root, without privilege escalation, on a read-only root, with no capabilities', () => {
    for (const workload of workloads) {
      const pod = podOf(workload);
      expect(pod.hostNetwork, workload.metadata.name).toBeFalsy();
      expect(pod.securityContext?.runAsUser, workload.metadata.name).not.toBe(0);
      for (const container of containersOf(workload)) {
        const where = `${workload.metadata.name}/${container.name}`;
        const security = container.securityContext;
        expect(security?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, where).toBe(true);
        expect(security?.allowPrivilegeEscalation, where).toBe(false);
        expect(security?.readOnlyRootFilesystem, where).toBe(true);
        expect(security?.privileged, where).toBeFalsy();
        expect(security?.capabilities?.drop, where).toContain('ALL');
        expect(security?.capabilities?.add ?? [], where).toEqual([]);
      }
    }
  });

  it('takes every secret by reference and ships no secret values', () => {
    expect(ofKind('Secret')).toEqual([]);
    let references = 0;
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        for (const variable of container.env ?? []) {
          const where = `${workload.metadata.name}: ${variable.name}`;
          if (isSecretVariable(variable.name) || /DATABASE_URL$|^REDIS_URL$/.test(variable.name)) {
            expect(variable.value, where).toBeUndefined();
            expect(variable.valueFrom?.secretKeyRef, where).toBeDefined();
            references += 1;
          }
          if (variable.value !== undefined) expect(urlCredentials(variable.value), where).toBeUndefined();
        }
      }
    }
    expect(references).toBeGreaterThan(10);
    for (const [name, value] of Object.entries(configMap?.data ?? {})) {
      expect(isSecretVariable(name), `ConfigMap ${name}`).toBe(false);
      expect(urlCredentials(value), `ConfigMap ${name}`).toBeUndefined();
    }
  });

  it('sets only variables server/config.ts defines, and production start-up accepts what each container gets', () => {
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        const where = `${workload.metadata.name}/${container.name}`;
        const names = [...Object.keys(configMap?.data ?? {}), ...(container.env ?? []).map((v) => v.name)];
        expect(names.filter((n) => !configVariables.has(n)), where).toEqual([]);
        const config = loadConfig(environmentOf(container));
        expect(config.env, where).toBe('production');
        expect(config.livekit, where).toBeDefined();
        expect(config.http.host, where).toBe('0.0.0.0');
      }
    }
    expect(loadConfig(environmentOf(containersOf(named('Job', 'facesign-migrate'))[0]!)).database.migrationUrl).toBeDefined();
    // Live: without its database URL the api container would be refused.
    const { DATABASE_URL: _url, ...withoutDatabase } = environmentOf(containersOf(named('Deployment', 'facesign-api'))[0]!);
    expect(() => loadConfig(withoutDatabase)).toThrow(/DATABASE_URL/);
  });

  it('mounts the signing key where SIGNING_KEY_FILE and SIGNING_CERT_FILE point', () => {
    for (const workload of workloads) {
      for (const container of containersOf(workload)) {
        const env = environmentOf(container);
        for (const variable of ['SIGNING_KEY_FILE', 'SIGNING_CERT_FILE']) {
          const path = env[variable] ?? '';
          const mount = container.volumeMounts?.find((m) => path.startsWith(`${m.mountPath}/`));
          const volume = podOf(workload).volumes?.find((v) => v.name === mount?.name);
          expect(volume?.secret?.items?.map((i) => `${mount!.mountPath}/${i.path}`), `${workload.metadata.name}: ${variable}`).toContain(path);
        }
      }
    }
  });

  it('routes the Ingress to the api Service, which selects the api pods, over TLS for PUBLIC_URL\'s host', () => {
    const ingress = ofKind('Ingress')[0]!;
    const spec = ingress.spec as { tls: { hosts: string[]; secretName: string }[]; rules: { host: string; http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[] };
    const host = new URL(configMap!.data!.PUBLIC_URL!).host;
    expect(spec.rules.map((r) => r.host)).toEqual([host]);
    expect(spec.tls[0]?.hosts).toContain(host);
    const backends = spec.rules.flatMap((r) => r.http.paths.map((p) => p.backend.service));
    expect(backends.map((b) => b.name)).toEqual(['facesign-api']);
    const service = named('Service', 'facesign-api').spec as { selector: Record<string, string>; ports: { name: string; targetPort: string }[] };
    expect(matches(service.selector, podLabels('facesign-api'))).toBe(true);
    expect(matches(service.selector, podLabels('facesign-worker'))).toBe(false);
    expect(service.ports.map((p) => p.name)).toContain(backends[0]!.port.name);
    // socket.io may fall back to long-polling, which must stay with one pod; WebSockets stay open long.
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/affinity']).toBe('cookie');
    expect(Number(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(3600);
  });

  it('points PDBs, HPAs and NetworkPolicies at the pods they protect', () => {
    for (const name of ['facesign-api', 'facesign-worker']) {
      const pdb = ofKind('PodDisruptionBudget').find((p) => matches((p.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, podLabels(name)));
      expect(pdb, `PDB for ${name}`).toBeDefined();
      const hpa = ofKind('HorizontalPodAutoscaler').find((h) => (h.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name === name);
      expect((hpa?.spec as { minReplicas: number } | undefined)?.minReplicas, `HPA for ${name}`).toBeGreaterThanOrEqual(2);
      expect(named('Deployment', name).spec!.replicas, `${name} leaves replicas to its HPA`).toBeUndefined();
      const policy = ofKind('NetworkPolicy').find((p) => matches((p.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels, podLabels(name)));
      expect((policy?.spec as { policyTypes: string[] } | undefined)?.policyTypes, `NetworkPolicy for ${name}`).toEqual(['Ingress', 'Egress']);
    }
    const workerPolicy = ofKind('NetworkPolicy').find((p) => matches((p.spec as { podSelector: { matchLabels: Record<string, string> } }).podSelector.matchLabels, podLabels('facesign-worker')));
    expect((workerPolicy!.spec as { ingress: unknown[] }).ingress).toEqual([]);
  });
});

function envOf(deployment: string): Record<string, string> {
  return environmentOf(containersOf(named('Deployment', deployment))[0]!);
}
