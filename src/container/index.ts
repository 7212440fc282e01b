/**
 * `scratchscope container NAME|ID`: a container that failed (or not), explained. The image
 * it was created from (by ID, so a tag moved since does not matter) is checked with what
 * the container changed (command, user, working folder, environment, mounts, read-only
 * root), and the prediction is put side by side with what the runtime recorded.
 */
import { BinaryCatalog } from '../elf/catalog.js';
import { type Diagnostic, type Launch, type StepKind, diagnose } from '../diagnose/index.js';
import { RUNTIMES, type RuntimeChoice, parseRuntime, withRuntimeLines } from '../diagnose/runtimes.js';
import { ScopeError } from '../errors.js';
import { type ImageModel, loadImage } from '../load.js';
import { connectEngine } from '../source/daemon.js';
import { pathPart } from '../source/engine/client.js';
import type { ImageConfig } from '../source/types.js';
import { type ContainerFacts, type MountFacts, readContainer } from './engine.js';
import { exitMeaning } from './exit.js';
import { type MountFinding, hiddenByMount, mountEffect, readOnlyTmp } from './mounts.js';

export type ContainerVerdict = 'starts' | 'fails' | 'started';

export interface Override {
  field: 'entrypoint' | 'cmd' | 'user' | 'workingDir' | 'env' | 'readOnly' | 'init' | 'mounts';
  /** What the container runs with, and what the image says (null: the image has no say). */
  container: unknown;
  image: unknown;
}

export interface ContainerReport {
  schemaVersion: 1;
  container: {
    id: string;
    name: string;
    image: string;
    imageId: string;
    /** The reference now names another image than the container was created from. */
    imageMoved: boolean | null;
    status: string;
    platform: string | null;
    mounts: MountFacts[];
  };
  overrides: Override[];
  verdict: ContainerVerdict;
  /** The launch step that fails, as predicted; null when nothing fails. */
  failedStep: StepKind | null;
  /** The runtime's message as the container recorded it (State.Error, or the log for failures runc reports after start). */
  recorded: { message: string; where: string } | null;
  /** Our runtime line for the first error. */
  predicted: string | null;
  agreement: 'same' | 'differs' | 'nothing-recorded';
  /** One sentence comparing the two. */
  finding: string;
  exit: { code: number; meaning: string; oomKilled: boolean; logTail: string[] } | null;
  launch: Launch;
  diagnostics: Diagnostic[];
  mountFindings: MountFinding[];
}

/** The image config as the container runs it: docker create stores the merged values. */
function effectiveConfig(image: ImageConfig | null, c: ContainerFacts): ImageConfig {
  return {
    os: image?.os ?? null,
    architecture: image?.architecture ?? null,
    variant: image?.variant ?? null,
    exposedPorts: image?.exposedPorts ?? [],
    labels: image?.labels ?? {},
    stopSignal: image?.stopSignal ?? null,
    entrypoint: c.entrypoint,
    cmd: c.cmd,
    user: c.user,
    workingDir: c.workingDir,
    env: c.env,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function overridesOf(image: ImageConfig | null, c: ContainerFacts): Override[] {
  const out: Override[] = [];
  const cmp = (field: Override['field'], container: unknown, img: unknown) => {
    if (!same(container, img)) out.push({ field, container, image: img });
  };
  cmp('entrypoint', c.entrypoint, image?.entrypoint ?? []);
  cmp('cmd', c.cmd, image?.cmd ?? []);
  cmp('user', c.user, image?.user ?? '');
  cmp('workingDir', c.workingDir || '', image?.workingDir || '');
  // Values can be secrets: name the variables the container added or changed, not their values.
  const imageEnv = new Set(image?.env ?? []);
  const changed = c.env.filter((e) => !imageEnv.has(e)).map((e) => e.split('=')[0]);
  if (changed.length) out.push({ field: 'env', container: changed, image: null });
  if (c.readOnly) out.push({ field: 'readOnly', container: true, image: null });
  if (c.init) out.push({ field: 'init', container: true, image: null });
  if (c.mounts.length)
    out.push({
      field: 'mounts',
      container: c.mounts.map((m) => `${m.type} ${m.type === 'tmpfs' ? '' : `${m.name ?? m.source} `}at ${m.destination}`),
      image: null,
    });
  return out;
}

function absolute(argv0: string, cwd: string): string | null {
  if (!argv0.includes('/')) return null;
  return argv0.startsWith('/') ? argv0 : `${cwd.replace(/\/$/, '')}/${argv0}`;
}

/** The image the container was created from, and whether its name now points elsewhere. */
async function imageOf(facts: ContainerFacts, engineJson: (p: string) => Promise<{ Id?: string } | null>): Promise<boolean | null> {
  if (!facts.imageRef || facts.imageRef.startsWith('sha256:')) return null;
  const now = await engineJson(`/images/${pathPart(facts.imageRef)}/json`);
  return now?.Id ? now.Id !== facts.imageId : null;
}

interface EngineInfo {
  DefaultRuntime?: string;
  /** podman's own API (/libpod/info) names its runtime's version. */
  host?: { ociRuntime?: { name?: string; version?: string } };
}

/** The engine's default OCI runtime (GET /info), in the words of the version it runs when the engine says (podman does). */
async function engineRuntime(json: (p: string) => Promise<EngineInfo | null>): Promise<RuntimeChoice | undefined> {
  const info = await json('/info');
  const name = info?.DefaultRuntime?.replace(/^.*\//, '');
  if (!name || !(RUNTIMES as readonly string[]).includes(name)) return undefined;
  const own = await json('/v4.0.0/libpod/info').catch(() => null); // podman's own API wants a version prefix; Docker answers 404 (null)
  const version = own?.host?.ociRuntime?.name === name ? /version (\d+(?:\.\d+)*)/.exec(own.host.ociRuntime.version ?? '')?.[1] : undefined;
  if (version) {
    try {
      return parseRuntime(`${name}@${version}`);
    } catch {
      /* older than any wording known: the newest stands */
    }
  }
  return parseRuntime(name);
}

export async function analyseContainer(ref: string, opts: { verify?: boolean; runtime?: RuntimeChoice } = {}): Promise<ContainerReport> {
  const client = await connectEngine();
  const facts = await readContainer(client, ref);
  const runtime = opts.runtime ?? (await engineRuntime((p) => client.json(p)));
  const imageMoved = await imageOf(facts, (p) => client.json(p));
  let model: ImageModel;
  try {
    model = await loadImage(`docker-daemon:${facts.imageId}`, { analysis: true, verify: opts.verify });
  } catch (e) {
    if (e instanceof ScopeError && e.code === 'image-not-found')
      throw new ScopeError('image-not-found', `container ${ref} was created from image ${facts.imageId}, which the engine no longer has`);
    throw e;
  }
  try {
    return predict(model, facts, imageMoved, runtime);
  } finally {
    await model.close();
  }
}

/**
 * `before`: failures decided before the runtime is asked at all (kubelet's runAsNonRoot
 * checks); they come first, in front of what the runtime would meet.
 */
export function predict(
  model: ImageModel,
  facts: ContainerFacts,
  imageMoved: boolean | null,
  runtime?: RuntimeChoice,
  before: Diagnostic[] = [],
): ContainerReport {
  const config = effectiveConfig(model.config, facts);
  const asRun: ImageModel = { ...model, config };
  const catalog = new BinaryCatalog(model.tree, model.decoded);
  const d = diagnose(asRun, catalog, {
    capabilities: facts.capabilities,
    noNewPrivs: facts.noNewPrivs,
    // docker records a container's whole environment; a pod's may come from elsewhere (envFrom, secrets)
    envComplete: facts.envComplete,
  });
  let diagnostics = d.diagnostics;
  const launch = d.launch;
  const mountFindings: MountFinding[] = [];

  // Mounts: the lookup and exec of the image's program meet the mount first.
  const argv0 = launch.argv[0];
  const target = launch.executable ?? (argv0 ? absolute(argv0, config.workingDir || '/') : null);
  const effect = target ? mountEffect(facts.mounts, target) : null;
  if (effect) {
    mountFindings.push(effect);
    if (effect.effect === 'hides' && launch.executable) {
      const diag = hiddenByMount(effect, argv0 ?? launch.executable);
      // What the image's copy would do no longer matters: only the user lookup comes first.
      const user = diagnostics.filter((x) => x.code === 'user-missing');
      diagnostics = [...user, diag, ...diagnostics.filter((x) => x.severity !== 'error')];
      const cut = launch.steps.findIndex((s) => s.step === 'lookup');
      launch.steps.splice(cut, launch.steps.length - cut, { step: 'lookup', ok: false, detail: effect.detail });
      launch.executable = null;
    } else if (effect.effect === 'unknown' && launch.executable) {
      diagnostics.push(hiddenByMount(effect, argv0 ?? launch.executable));
    }
  }
  if (facts.readOnly && launch.executable) {
    const w = readOnlyTmp(model.tree, launch.executable, config.env, facts.mounts);
    if (w) diagnostics.push(w);
  }

  const firstBefore = before[0];
  if (firstBefore) {
    diagnostics = [...before, ...diagnostics];
    launch.steps.unshift({ step: 'user', ok: false, detail: firstBefore.message });
  }
  diagnostics = withRuntimeLines(diagnostics, launch.argv, launch.executable, runtime);
  const cause = diagnostics.find((x) => x.severity === 'error') ?? null;
  const predicted = cause?.runtimeError ?? null;
  // a log is read line by line: a prediction of two lines (bash's exec, GNU env's hint) is met by its first
  const predictedLine = predicted?.split('\n')[0] ?? null;
  const s = facts.state;
  let recorded: ContainerReport['recorded'] = null;
  if (s.error) recorded = { message: s.error, where: facts.errorSource ?? 'State.Error' };
  else if (predicted && s.started) {
    // runc reports exec and loader failures from inside the started process: they land in the log.
    const line = facts.logTail.find((l) => l.includes(predictedLine!));
    if (line !== undefined) recorded = { message: line, where: 'logs' };
  }
  const ended = s.started && s.status !== 'running' && s.status !== 'restarting' && s.status !== 'paused';
  const verdict: ContainerVerdict = recorded ? 'fails' : s.started ? 'started' : cause ? 'fails' : 'starts';

  let agreement: ContainerReport['agreement'];
  let finding: string;
  if (recorded && predictedLine && recorded.message.includes(predictedLine)) {
    agreement = 'same';
    finding = `the runtime recorded the cause scratchscope predicts (${cause!.code})`;
  } else if (recorded) {
    agreement = 'differs';
    finding = predicted
      ? `the runtime recorded something else than the prediction (${cause!.code}): the image, the runtime or the host may have changed since the container was created`
      : `the runtime recorded a failure the image and the container's settings do not explain${imageMoved ? '' : ' (the host, a device, a security profile or the runtime itself may be the cause)'}`;
  } else if (cause && s.started) {
    agreement = 'differs';
    finding = `scratchscope predicts ${cause.code}, but the container started${ended ? ` and exited with ${s.exitCode}` : ''}: the image, the runtime or the host may have changed since it was created`;
  } else {
    agreement = 'nothing-recorded';
    finding = s.started
      ? "the container started; its exit is the program's own business"
      : 'the container has not been started, so the runtime recorded nothing yet';
  }
  if (imageMoved) finding += `; note: ${facts.imageRef} now names another image than the one this container was created from`;

  return {
    schemaVersion: 1,
    container: {
      id: facts.id,
      name: facts.name,
      image: facts.imageRef,
      imageId: facts.imageId,
      imageMoved,
      status: s.status,
      platform: facts.platform,
      mounts: facts.mounts,
    },
    overrides: overridesOf(model.config, facts),
    verdict,
    failedStep: cause ? (launch.steps.find((x) => !x.ok)?.step ?? null) : null,
    recorded,
    predicted,
    agreement,
    finding,
    exit: ended
      ? { code: s.exitCode, meaning: exitMeaning(s.exitCode, s.oomKilled), oomKilled: s.oomKilled, logTail: facts.logTail }
      : null,
    launch,
    diagnostics,
    mountFindings,
  };
}
