/**
 * `scratchscope pod FILE|-`: the containers of a pod (kubectl get pod -o json), or of the
 * pod template of a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob, each
 * checked as kubelet would start it: `command` replaces the image's Entrypoint and drops
 * its Cmd, `args` replaces Cmd; securityContext (container over pod) sets the user,
 * runAsNonRoot and a read-only root; volumes mounted over the program hide it (Kubernetes
 * never copies image content into a volume). What kubelet recorded in containerStatuses
 * is put beside the prediction, as for `container`.
 */
import { readFileSync } from 'node:fs';
import { CATALOG } from '../diagnose/catalog.js';
import type { Diagnostic } from '../diagnose/index.js';
import { type RuntimeChoice, parseRuntime } from '../diagnose/runtimes.js';
import { withVars } from '../diagnose/shell.js';
import { ScopeError, fsError } from '../errors.js';
import { loadImage } from '../load.js';
import type { ImageConfig } from '../source/types.js';
import type { ContainerFacts, MountFacts } from './engine.js';
import { type ContainerReport, predict } from './index.js';

interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  /** A container's only (the pod's has none). */
  capabilities?: { add?: string[]; drop?: string[] };
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
}

interface K8sContainer {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean; subPath?: string }[];
}

interface Terminated {
  exitCode?: number;
  reason?: string;
  message?: string;
  startedAt?: string | null;
  finishedAt?: string | null;
}

interface ContainerStatus {
  name: string;
  containerID?: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: { startedAt?: string }; terminated?: Terminated };
  lastState?: { terminated?: Terminated };
}

interface PodSpec {
  containers?: K8sContainer[];
  initContainers?: K8sContainer[];
  securityContext?: SecurityContext;
  volumes?: ({ name: string } & Record<string, unknown>)[];
}

export interface PodContainerReport extends ContainerReport {
  /** init or regular container, and where the image was read from. */
  role: 'init' | 'container';
  imageSource: string;
  runtime: string;
  restartCount: number | null;
}

export interface PodReport {
  schemaVersion: 1;
  kind: string;
  name: string;
  namespace: string | null;
  containers: PodContainerReport[];
}

/** The pod (or pod template) inside whatever kubectl printed. */
function podOf(doc: Record<string, unknown>): {
  kind: string;
  name: string;
  namespace: string | null;
  spec: PodSpec;
  statuses: ContainerStatus[];
} {
  const kind = typeof doc.kind === 'string' ? doc.kind : '';
  const meta = (doc.metadata ?? {}) as { name?: string; namespace?: string };
  const spec = doc.spec as Record<string, unknown> | undefined;
  const base = { kind, name: meta.name ?? '(unnamed)', namespace: meta.namespace ?? null };
  if (kind === 'Pod' && spec) {
    const status = (doc.status ?? {}) as { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
    return { ...base, spec, statuses: [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])] };
  }
  const template =
    kind === 'CronJob'
      ? (spec?.jobTemplate as { spec?: { template?: { spec?: PodSpec } } })?.spec?.template
      : (spec?.template as { spec?: PodSpec } | undefined);
  if (
    ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController', 'Job', 'CronJob', 'PodTemplate'].includes(kind) ||
    template?.spec
  ) {
    const podSpec = kind === 'PodTemplate' ? ((doc.template as { spec?: PodSpec })?.spec ?? null) : (template?.spec ?? null);
    if (podSpec) return { ...base, spec: podSpec, statuses: [] };
  }
  if (kind === 'List' && Array.isArray(doc.items) && doc.items.length === 1) return podOf(doc.items[0] as Record<string, unknown>);
  throw new ScopeError(
    'usage',
    `not a pod or a workload with a pod template (kind ${kind || 'missing'}); use kubectl get pod NAME -o json`,
  );
}

/** Volumes as mounts: what each holds in place of the image's folder. */
function mountsOf(c: K8sContainer, spec: PodSpec): MountFacts[] {
  const volumes = new Map((spec.volumes ?? []).map((v) => [v.name, v]));
  return (c.volumeMounts ?? []).map((m) => {
    const v = volumes.get(m.name) ?? { name: m.name };
    const base = { name: m.name, destination: m.mountPath, readWrite: !m.readOnly, noCopy: true };
    if ('emptyDir' in v) return { ...base, type: 'tmpfs' as const, source: null, label: `emptyDir volume ${m.name} (empty at start)` };
    if ('hostPath' in v) return { ...base, type: 'bind' as const, source: String((v.hostPath as { path?: string })?.path ?? '') || null };
    // configMap, secret, projected, downwardAPI hold only their keys; a claim holds whatever it holds.
    const keys = ['configMap', 'secret', 'projected', 'downwardAPI'].find((k) => k in v);
    if (keys) return { ...base, type: 'tmpfs' as const, source: null, label: `${keys} volume ${m.name} (only its keys)` };
    return { ...base, type: 'volume' as const, source: null, label: `volume ${m.name} (a Kubernetes volume never gets the image's files)` };
  });
}

/** What kubelet recorded: the runtime's (or its own) refusal, and whether the process ever ran. */
function stateOf(s: ContainerStatus | undefined): ContainerFacts['state'] & { tail: string[]; errorSource?: string } {
  const waiting = s?.state?.waiting;
  const term = s?.state?.terminated ?? s?.lastState?.terminated;
  const startError = term?.reason === 'StartError' || term?.reason === 'ContainerCannotRun';
  const refused =
    waiting && ['CreateContainerError', 'CreateContainerConfigError', 'RunContainerError'].includes(waiting.reason ?? '')
      ? waiting.message
      : undefined;
  const error = (startError ? term?.message : undefined) ?? refused ?? '';
  const errorSource = startError
    ? `${s?.state?.terminated ? 'state' : 'lastState'}.terminated.message`
    : refused
      ? 'state.waiting.message'
      : undefined;
  const ran = !!s?.state?.running || (!!term && !startError);
  return {
    status: s?.state?.running
      ? 'running'
      : waiting
        ? (waiting.reason ?? 'waiting')
        : s?.state?.terminated
          ? 'exited'
          : s
            ? 'unknown'
            : 'not started',
    exitCode: term?.exitCode ?? 0,
    error: error.trim(),
    oomKilled: term?.reason === 'OOMKilled',
    started: ran,
    startedAt: term?.startedAt ?? null,
    finishedAt: term?.finishedAt ?? null,
    // with terminationMessagePolicy FallbackToLogsOnError, the message is the log's tail
    tail: ran && term?.message ? term.message.split('\n').filter(Boolean) : [],
    errorSource,
  };
}

/** kubelet's runAsNonRoot check (verifyRunAsNonRoot), on the image's USER when runAsUser is unset. */
function nonRootCheck(sc: SecurityContext, imageUser: string): Diagnostic | null {
  if (!sc.runAsNonRoot) return null;
  const base = {
    path: null,
    layer: null,
    evidence: [`runAsNonRoot: true`, `image USER ${imageUser ? JSON.stringify(imageUser) : '(none: root)'}`],
  };
  if (sc.runAsUser !== undefined) {
    if (sc.runAsUser !== 0) return null;
    return {
      ...base,
      code: 'runs-as-root',
      severity: 'error',
      message: CATALOG['runs-as-root'].messageRunAsUser,
      runtimeError: CATALOG['runs-as-root'].runcRunAsUser,
      fix: CATALOG['runs-as-root'].fixRunAsUser,
    };
  }
  const user = imageUser.split(':')[0] ?? ''; // split always yields a first field
  if (user && !/^\d+$/.test(user)) {
    return {
      ...base,
      code: 'non-numeric-user',
      severity: 'error',
      message: CATALOG['non-numeric-user'].message(user),
      runtimeError: CATALOG['non-numeric-user'].runc(user),
      fix: CATALOG['non-numeric-user'].fix(user),
    };
  }
  if (!user || Number(user) === 0) {
    return {
      ...base,
      code: 'runs-as-root',
      severity: 'error',
      message: CATALOG['runs-as-root'].message(user),
      runtimeError: CATALOG['runs-as-root'].runc,
      fix: CATALOG['runs-as-root'].fix,
    };
  }
  return null;
}

function runtimeOf(status: ContainerStatus | undefined, chosen?: RuntimeChoice): RuntimeChoice {
  if (chosen) return chosen;
  const scheme = /^([a-z-]+):\/\//.exec(status?.containerID ?? '')?.[1];
  return parseRuntime(scheme === 'cri-o' ? 'cri-o' : scheme === 'docker' ? 'runc' : 'containerd');
}

export function readPodJson(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw fsError(e, file === '-' ? 'stdin' : file);
  }
  try {
    const doc: unknown = JSON.parse(text);
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
  } catch {
    /* below */
  }
  throw new ScopeError('usage', `${file === '-' ? 'stdin' : file}: not JSON (kubectl get pod NAME -o json)`);
}

/**
 * A container's env as kubelet makes it: in order, each value with $(NAME) of the names
 * defined before it expanded; a value from a secret, a config map or a field is not known
 * here (undefined). The image's ENV takes no part (kubelet expands over its own list).
 */
function containerEnv(list: { name: string; value?: string; valueFrom?: unknown }[]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const e of list) out.set(e.name, e.valueFrom !== undefined && e.value === undefined ? undefined : kubeExpand(e.value ?? '', out));
  return out;
}

/**
 * Kubernetes' $(NAME) expansion (command, args and env values): $(NAME) of a defined name is
 * its value, of any other (or one whose value is not known) stays as written; $$ is a $; a
 * $ before anything else stays.
 */
export function kubeExpand(input: string, vars: ReadonlyMap<string, string | undefined>): string {
  let out = '';
  let from = 0;
  const lastClose = input.lastIndexOf(')'); // past it no reference closes: no search (linear on "$($($(…")
  for (let i = 0; i < input.length - 1; i++) {
    if (input[i] !== '$') continue;
    out += input.slice(from, i);
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = i + 2 > lastClose ? -1 : input.indexOf(')', i + 2);
      if (close === -1) {
        out += '$(';
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        const v = vars.get(name);
        out += v === undefined ? `$(${name})` : v;
        i = close;
      }
    } else {
      out += '$' + next;
      i += 1;
    }
    from = i + 1;
  }
  return out + input.slice(from);
}

export async function analysePod(
  doc: Record<string, unknown>,
  opts: { imageSources: Map<string, string>; runtime?: RuntimeChoice; verify?: boolean },
): Promise<PodReport> {
  const pod = podOf(doc);
  const containers = [
    ...(pod.spec.initContainers ?? []).map((c) => ({ c, role: 'init' as const })),
    ...(pod.spec.containers ?? []).map((c) => ({ c, role: 'container' as const })),
  ];
  if (!containers.length) throw new ScopeError('usage', `${pod.kind} ${pod.name} has no containers`);
  const out: PodContainerReport[] = [];
  for (const { c, role } of containers) {
    if (!c.image) throw new ScopeError('usage', `container ${c.name} has no image`);
    const source = opts.imageSources.get(c.image) ?? `docker-daemon:${c.image}`;
    const status = pod.statuses.find((s) => s.name === c.name);
    const model = await loadImage(source, { analysis: true, verify: opts.verify }).catch((e: unknown) => {
      if (e instanceof ScopeError)
        throw new ScopeError(
          e.code,
          `container ${c.name}, image ${c.image}: ${e.message} (map it to a file with --image-source ${c.image}=PATH)`,
        );
      throw e;
    });
    try {
      const image: ImageConfig | null = model.config;
      const sc = { ...pod.spec.securityContext, ...c.securityContext };
      const imageUser = image?.user ?? '';
      const user = sc.runAsUser !== undefined ? `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}` : imageUser;
      // the container's env, each value expanded as kubelet does, over the image's ENV
      const defined = containerEnv(c.env ?? []);
      const env = withVars(
        [...(image?.env ?? [])],
        [...defined].map(([name, value]) => `${name}=${value ?? ''}`),
      );
      const expand = (words: string[]) => words.map((w) => kubeExpand(w, defined));
      const state = stateOf(status);
      const facts: ContainerFacts = {
        id: status?.containerID ?? '',
        name: c.name,
        imageRef: c.image,
        imageId: model.source.configDigest ?? '',
        entrypoint: c.command ? expand(c.command) : (image?.entrypoint ?? []),
        cmd: c.args ? expand(c.args) : c.command ? [] : (image?.cmd ?? []),
        user,
        workingDir: c.workingDir ?? image?.workingDir ?? '',
        env,
        readOnly: !!sc.readOnlyRootFilesystem,
        init: false,
        capabilities: {
          add: c.securityContext?.privileged ? ['ALL'] : (c.securityContext?.capabilities?.add ?? []),
          drop: c.securityContext?.capabilities?.drop ?? [],
        },
        noNewPrivs: c.securityContext?.allowPrivilegeEscalation === false,
        envComplete: false,
        platform: null,
        mounts: mountsOf(c, pod.spec),
        state,
        logTail: state.tail,
        errorSource: state.errorSource,
      };
      const runtime = runtimeOf(status, opts.runtime);
      const refused = nonRootCheck(sc, imageUser);
      const report = predict(model, facts, null, runtime, refused ? [refused] : []);
      out.push({
        ...report,
        role,
        imageSource: source,
        runtime: `${runtime.runtime}@${runtime.version}`,
        restartCount: status?.restartCount ?? null,
      });
    } finally {
      await model.close();
    }
  }
  return { schemaVersion: 1, kind: pod.kind, name: pod.name, namespace: pod.namespace, containers: out };
}
