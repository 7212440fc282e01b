/**
 * The command line: commander parses, the core loads and analyses, a renderer prints.
 * Exit codes (README, "Exit codes"): 0 analysed, 1 `--fail-on` threshold met, 2 usage,
 * 3 unreadable or invalid input, 4 not found, 5 engine or registry unreachable, 70 a bug.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Commander from 'commander';
import { EXIT, ScopeError, exitCode, isScopeError } from './errors.js';
import type { ImageModel, LoadOptions } from './load.js';
import { printable } from './render/format.js';
import { VERSION } from './version.js';
import type { Report, ReportOptions } from './report/index.js';
import type { ClosureCopiesJson, SlimJson } from './json.js';
import type { ImageConfig } from './source/types.js';
import { type RuntimeChoice, parseRuntime } from './diagnose/runtimes.js';
import { setFlagsFromString } from 'node:v8';

// commander is CommonJS: required, not imported, it skips the ESM loader's scan of its
// exports, a tenth of the start-up of `--version`.
const { Command, CommanderError, InvalidArgumentError } = createRequire(import.meta.url)('commander') as typeof Commander;
type Command = Commander.Command;

// Only commander and a few small modules load up front: --version, --help and explain never
// touch an image, so the reading and analysis stages (and ink, for the explorer) load on use.
const fsStage = () => import('./fs/index.js');
const textRender = () => import('./render/text.js');
const streamStage = () => import('./render/stream.js');

// The analysis stages load only for the commands that use them: files and cat start faster.
const analysis = async () => ({
  ...(await import('./report/index.js')),
  ...(await import('./report/ldd.js')),
  ...(await import('./render/ldd.js')),
  ...(await import('./render/text.js')),
});

const closureStage = async () => ({
  ...(await import('./closure/index.js')),
  ...(await import('./closure/dockerfile.js')),
  ...(await import('./closure/donor.js')),
  ...(await import('./render/closure.js')),
});

interface CommonOpts {
  tag?: string;
  platform?: string;
  verify: boolean;
  json?: boolean;
  creds?: string;
  credsStdin?: boolean;
  tlsVerify?: boolean;
  insecure?: boolean;
  timeout?: number;
  maxConcurrent?: number;
}

/** What loadImage needs from the common options, registry access included. */
function loadOptions(o: CommonOpts): LoadOptions {
  let creds = o.creds;
  if (o.credsStdin) {
    if (creds !== undefined) throw new ScopeError('usage', '--creds and --creds-stdin are exclusive');
    creds = readFileSync(0, 'utf8').split('\n')[0];
  }
  return {
    tag: o.tag,
    platform: o.platform,
    verify: o.verify,
    concurrency: o.maxConcurrent,
    registry: {
      creds,
      credsSource: o.credsStdin ? '--creds-stdin' : '--creds',
      tlsVerify: o.insecure ? false : (o.tlsVerify ?? true),
      timeout: o.timeout,
    },
  };
}

function positive(what: string, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!(n > 0) || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(what);
    return n;
  };
}

function bool(v: string): boolean {
  if (v === 'true' || v === 'false') return v === 'true';
  throw new InvalidArgumentError('true or false');
}

interface InspectOpts extends CommonOpts {
  entrypoint?: string;
  cmd?: string;
  failOn?: 'error' | 'warning';
  runtime?: RuntimeChoice;
}

function imageSources(v: string, prev?: Map<string, string>): Map<string, string> {
  const eq = v.indexOf('=');
  if (eq <= 0 || eq === v.length - 1) throw new InvalidArgumentError('REF=PATH, e.g. registry.example/app:1=app.tar');
  return new Map([...(prev ?? []), [v.slice(0, eq), v.slice(eq + 1)]]);
}

function runtimeOption(v: string): RuntimeChoice {
  try {
    return parseRuntime(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** A command as docker takes it: a JSON array, or words split on spaces. */
function words(v: string): string[] {
  const t = v.trim();
  if (t.startsWith('[')) {
    try {
      const a: unknown = JSON.parse(t);
      if (Array.isArray(a) && a.every((x): x is string => typeof x === 'string')) return a;
    } catch {
      /* fall through to the error */
    }
    throw new ScopeError('usage', `${v}: not a JSON array of strings`);
  }
  return t.split(/\s+/).filter(Boolean);
}

function imageFormat(v: string): 'docker-archive' | 'oci-archive' | 'oci' {
  if (v !== 'docker-archive' && v !== 'oci-archive' && v !== 'oci') throw new InvalidArgumentError('docker-archive, oci-archive or oci');
  return v;
}

type CheckFormat = 'text' | 'json' | 'sarif' | 'junit';

function checkFormat(v: string): CheckFormat {
  if (v !== 'text' && v !== 'json' && v !== 'sarif' && v !== 'junit') throw new InvalidArgumentError('text, json, sarif or junit');
  return v;
}

function failOn(v: string): 'error' | 'warning' {
  if (v !== 'error' && v !== 'warning') throw new InvalidArgumentError('error or warning');
  return v;
}

/** Exit 1 when a diagnostic at or above the threshold exists; for CI pipelines. */
function thresholdMet(report: Pick<Report, 'diagnostics'>, level: 'error' | 'warning' | undefined): boolean {
  if (!level) return false;
  return report.diagnostics.some((d) => d.severity === 'error' || (level === 'warning' && d.severity === 'warning'));
}

function out(s: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(s)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** Writes a value as JSON.stringify(v, null, 2) + newline would, piece by piece: a big report never becomes one string. */
async function outJson(v: unknown): Promise<void> {
  const { jsonDocument, writeAll } = await streamStage();
  return writeAll(jsonDocument(v), out);
}

async function withImage<T>(ref: string, o: CommonOpts, fn: (m: ImageModel) => Promise<T>, analysis = false): Promise<T> {
  const { loadImage } = await import('./load.js');
  const model = await loadImage(ref, { ...loadOptions(o), analysis });
  try {
    return await fn(model);
  } finally {
    await model.close();
  }
}

/**
 * `inspect`'s text: the verdict block as soon as the layer indexes give it (uncompressed
 * layers; before the layers are hashed, decoded and listed), then the rest when the full
 * analysis, which goes on from the same tree, has it. Without a fast path, all of it at the end.
 */
async function inspectText(ref: string, o: CommonOpts, opts: ReportOptions): Promise<Report> {
  const { openImage } = await import('./source/index.js');
  const { loadVerdictFirst } = await import('./report/quick.js');
  const { buildReport, renderInspect, renderVerdict, renderDetails } = await analysis();
  const load = loadOptions(o);
  const opened = await openImage(ref, load);
  let first: string | null = null;
  const model = await loadVerdictFirst(opened, load, opts, (v) => out((first = renderVerdict(v))));
  try {
    const r = buildReport(model, opts);
    if (first === null) await out(renderInspect(r));
    else if (renderVerdict(r) === first) await out(renderDetails(r));
    else {
      process.stderr.write(
        'scratchscope: the full analysis gave another verdict than the quick one (a bug: please report it); its report follows\n',
      );
      await out('\n' + renderInspect(r));
    }
    return r;
  } finally {
    await model.close();
  }
}

function seconds(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a number of seconds, e.g. 30 or 0.5');
  return n;
}

function layerNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a layer index (0, 1, …)');
  return n;
}

function addCommon(c: Command): Command {
  return c
    .option('--tag <name>', 'pick one image from an archive that holds several')
    .option('--platform <os/arch>', 'pick one platform of a multi-platform image, e.g. linux/arm64')
    .option('--no-verify', 'skip hashing uncompressed layers against their digests (faster)')
    .option('--creds <user:password>', 'registry credentials (prefer --creds-stdin: arguments are visible to other users)')
    .option('--creds-stdin', 'read registry credentials (user:password) from the first line of stdin')
    .option('--tls-verify <bool>', 'verify registry TLS certificates (default true); false also allows plain http', bool)
    .option('--insecure', 'same as --tls-verify=false')
    .option(
      '--timeout <seconds>',
      'how long the container engine or a registry may stay silent before scratchscope gives up (default 30)',
      seconds,
    )
    .option('--max-concurrent <n>', 'layers downloaded and read at once (default 3)', positive('a positive integer', true))
    .hook('preAction', async (_cmd, action) => {
      const t = action.opts<{ timeout?: number }>().timeout;
      if (t !== undefined) (await import('./source/engine/client.js')).setEngineTimeout(t);
    });
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('scratchscope')
    .description('Will this container image start? Reads any image, walks its layers and files, and explains why not.')
    .version(VERSION)
    // a usage error is one line, like every other error; --help has the rest
    .configureOutput({
      outputError: (str, write) => write(`scratchscope: ${printable(str.trim().replace(/^error: /, ''))} (see --help)\n`),
    })
    // the explorer's own options (scratchscope IMAGE --json) must not swallow a subcommand's
    .enablePositionalOptions()
    .exitOverride();

  // scratchscope IMAGE: the explorer on a terminal, else the inspect report.
  addCommon(program.argument('[image]', 'image to open in the explorer (see inspect for what an image can be)'))
    .option('--json', 'print the inspect report as JSON instead of opening the explorer')
    .option('--explain <code>', 'tell the story behind a diagnostic code (same as: explain CODE)')
    .action(async (image: string | undefined, o: CommonOpts & { explain?: string }) => {
      if (o.explain) return explain(o.explain);
      if (!image) {
        program.help();
        return;
      }
      if (!o.json && process.stdout.isTTY && process.stdin.isTTY) {
        // A person at a terminal: ink must draw live even where CI=… is set in the
        // environment (it reads that once, when it is first imported, and then draws
        // only a final frame).
        for (const k of ['CI', 'CONTINUOUS_INTEGRATION']) if (k in process.env) process.env[k] = 'false';
        if (await (await import('./wasm.js')).relaunchForWasm()) return;
        setFlagsFromString('--incremental-marking'); // a frame must not wait for a whole collection
        const { runTui } = await import('./tui/index.js');
        const error = await runTui(image, { ...loadOptions(o), onThisMachine: !o.platform });
        if (error) throw error; // the real error and its exit code, as the other commands give it
        return;
      }
      if (!o.json) {
        await inspectText(image, o, { onThisMachine: !o.platform });
        return;
      }
      await withImage(
        image,
        o,
        async (m) => {
          const { buildReport } = await analysis();
          await outJson(buildReport(m, { onThisMachine: !o.platform }));
        },
        true,
      );
    });

  addCommon(
    program
      .command('inspect')
      .argument('<image>', 'docker save tar, OCI archive or folder, root filesystem, image name, or docker://REF')
      .description('will it start? the verdict, every diagnostic with its fix, then config, layers and sizes'),
  )
    .option('--json', 'print the report as JSON (schema: docs/report.schema.json)')
    .option('--entrypoint <cmd>', "check this entrypoint instead of the image's (like docker run --entrypoint; drops the image's CMD)")
    .option('--cmd <cmd>', "check these arguments instead of the image's CMD (a JSON array, or words)")
    .option('--fail-on <level>', 'exit 1 when a diagnostic of this severity or worse exists: error or warning', failOn)
    .option(
      '--runtime <name[@version]>',
      'say the runtime line as this runtime does: runc (default), crun, podman, containerd, cri-o; e.g. crun@1.8',
      runtimeOption,
    )
    .option('--verdict-only', 'print the verdict and the diagnostics only (on uncompressed layers: read from the layer indexes)')
    .action(async (image: string, o: InspectOpts & { verdictOnly?: boolean }) => {
      const opts: ReportOptions = {
        entrypoint: o.entrypoint !== undefined ? words(o.entrypoint) : undefined,
        cmd: o.cmd !== undefined ? words(o.cmd) : undefined,
        runtime: o.runtime,
        onThisMachine: !o.platform,
      };
      let report: Pick<Report, 'diagnostics'>;
      if (o.verdictOnly) {
        const { verdictOnly } = await import('./verdict/index.js');
        const v = (await verdictOnly(image, loadOptions(o), opts)).report;
        await (o.json ? outJson(v) : out((await textRender()).renderVerdict(v)));
        report = v;
      } else if (!o.json) report = await inspectText(image, o, opts);
      else
        report = await withImage(
          image,
          o,
          async (m) => {
            const { buildReport } = await analysis();
            const r = buildReport(m, opts);
            await outJson(r);
            return r;
          },
          true,
        );
      if (thresholdMet(report, o.failOn)) process.exitCode = 1;
    });

  addCommon(
    program
      .command('container')
      .argument('<container>', "a container's name or ID, as docker ps -a lists them")
      .description(
        "why a container failed to start: its image with everything docker run changed, and the runtime's recorded message beside the prediction",
      ),
  )
    .option('--json', 'print the container report as JSON')
    .option('--fail-on <level>', 'exit 1 when a diagnostic of this severity or worse exists: error or warning', failOn)
    .option(
      '--runtime <name[@version]>',
      "say the runtime line as this runtime does (default: the engine's default runtime, else runc)",
      runtimeOption,
    )
    .action(async (ref: string, o: CommonOpts & { failOn?: 'error' | 'warning'; runtime?: RuntimeChoice }) => {
      const { analyseContainer } = await import('./container/index.js');
      const { renderContainer } = await import('./render/container.js');
      const r = await analyseContainer(ref, { verify: o.verify, runtime: o.runtime });
      await out(o.json ? JSON.stringify(r, null, 2) + '\n' : renderContainer(r));
      if (thresholdMet(r, o.failOn)) process.exitCode = 1;
    });

  addCommon(
    program
      .command('check')
      .argument('<images...>', 'images to check (anything inspect reads)')
      .description(
        'a CI gate: exit 0 when every image starts, 1 when one fails, 2 and up on errors (README: Exit codes); text, JSON, SARIF or JUnit',
      ),
  )
    .option('--format <format>', 'text (default), json, sarif (SARIF 2.1.0, for code scanning) or junit', checkFormat, 'text')
    .option('--dockerfile <file>', 'place each finding on the Dockerfile instruction responsible (SARIF, GitHub annotations)')
    .option('--output <file>', 'write the report to this file instead of stdout')
    .option('--fail-on <level>', 'exit 1 when a diagnostic of this severity or worse exists: error (default) or warning', failOn, 'error')
    .option('--exit-zero', 'exit 0 even when an image fails (the report still says so)')
    .option('--runtime <name[@version]>', 'say the runtime line as this runtime does (see inspect)', runtimeOption)
    .action(
      async (
        images: string[],
        o: CommonOpts & {
          format: CheckFormat;
          dockerfile?: string;
          output?: string;
          failOn: 'error' | 'warning';
          exitZero?: boolean;
          runtime?: RuntimeChoice;
        },
      ) => {
        const { runCheck } = await import('./render/check.js');
        const { buildReport } = await import('./report/index.js');
        const { verdictOnly } = await import('./verdict/index.js');
        const here = { runtime: o.runtime, onThisMachine: !o.platform };
        const report = (ref: string) => withImage(ref, o, (m) => Promise.resolve(buildReport(m, here)), true);
        const verdict = async (ref: string) => (await verdictOnly(ref, loadOptions(o), here)).report;
        const failed = await runCheck(images, { ...o, report, verdict, out });
        if (failed && !o.exitZero) process.exitCode = 1;
      },
    );

  addCommon(
    program
      .command('pod')
      .argument('<file>', 'kubectl get pod NAME -o json (or a Deployment, Job, … with a pod template); - reads stdin')
      .description(
        'each container of a pod as kubelet starts it: command/args, securityContext, volumes, and the status kubelet recorded beside the prediction',
      ),
  )
    .option('--json', 'print the pod report as JSON')
    .option(
      '--image-source <ref=path>',
      'read this image reference from a file or folder instead of the local engine (repeatable)',
      imageSources,
    )
    .option('--fail-on <level>', 'exit 1 when a diagnostic of this severity or worse exists: error or warning', failOn)
    .option(
      '--runtime <name[@version]>',
      'say the runtime line as this runtime does (default: from each containerID, else containerd)',
      runtimeOption,
    )
    .action(
      async (
        file: string,
        o: CommonOpts & { imageSource?: Map<string, string>; failOn?: 'error' | 'warning'; runtime?: RuntimeChoice },
      ) => {
        const { analysePod, readPodJson } = await import('./container/pod.js');
        const { renderPod } = await import('./render/container.js');
        const r = await analysePod(readPodJson(file), {
          imageSources: o.imageSource ?? new Map<string, string>(),
          runtime: o.runtime,
          verify: o.verify,
        });
        await out(o.json ? JSON.stringify(r, null, 2) + '\n' : renderPod(r));
        if (r.containers.some((c) => thresholdMet(c, o.failOn))) process.exitCode = 1;
      },
    );

  program
    .command('explain')
    .argument('<code>', 'a diagnostic code, e.g. interpreter-missing')
    .description('the story behind a diagnostic code')
    .action(explain);

  addCommon(
    program
      .command('ldd')
      .argument('<image>')
      .argument('<path>', 'the program or library inside the image')
      .description('the libraries a binary loads inside the image, where each is found and why, and what is missing'),
  )
    .option('--json', 'print JSON')
    .action(async (image: string, path: string, o: CommonOpts) => {
      await withImage(
        image,
        o,
        async (m) => {
          const { lddReport, renderLdd } = await analysis();
          const r = lddReport(m, path);
          await out(o.json ? JSON.stringify(r, null, 2) + '\n' : renderLdd(r.path, r.elf, r));
        },
        true,
      );
    });

  addCommon(
    program
      .command('closure')
      .argument('<image>')
      .argument('[path]', "a program inside the image (default: the image's command)")
      .description('every file a program needs to start and to run, and the COPY lines that supply them'),
  )
    .option('--json', 'print JSON')
    .option('--entrypoint <cmd>', "the closure of this entrypoint instead of the image's")
    .option('--dockerfile', 'print COPY --from lines that supply what is missing (with --all: the whole closure, for a FROM scratch stage)')
    .option('--from <stage>', 'the build stage (or image) the COPY lines take files from', 'build')
    .option('--all', 'with --dockerfile: copy the whole closure, not only what is missing')
    .option('--from-image <image>', "check that this image (the build stage's, or any source) has every file, and a glibc new enough")
    .action(
      async (
        image: string,
        path: string | undefined,
        o: CommonOpts & { entrypoint?: string; dockerfile?: boolean; from: string; all?: boolean; fromImage?: string },
      ) => {
        const { analyseClosure, closureCopies, closureUncopyable, copyLines, checkDonor, renderClosure } = await closureStage();
        await withImage(
          image,
          o,
          async (m) => {
            const a = analyseClosure(m, { path, entrypoint: o.entrypoint !== undefined ? words(o.entrypoint) : undefined });
            if (!o.dockerfile) {
              await out(o.json ? JSON.stringify(a.closure, null, 2) + '\n' : renderClosure(a.closure));
              return;
            }
            let items = closureCopies(a.closure, o.all ?? false);
            const notes: string[] = closureUncopyable(a.closure);
            if (o.fromImage) {
              const checked = await withImage(o.fromImage, o, (donor) => Promise.resolve(checkDonor(a, items, donor)), true);
              items = checked.items;
              notes.push(...checked.warnings.map((w) => `# warning: ${w}`), ...checked.lacking.map((l) => `# ${o.fromImage} has no ${l}`));
              if (checked.lacking.length) process.exitCode = 1;
            }
            if (a.closure.stageLibDir && !o.fromImage)
              notes.push(
                `# the loader is missing too, and the one copied decides where libraries are searched: these paths are Debian's (${a.closure.stageLibDir}); check them against the stage with --from-image`,
              );
            const lines = copyLines(o.from, items);
            if (o.json)
              return out(JSON.stringify({ stage: o.from, copies: items, lines, notes } satisfies ClosureCopiesJson, null, 2) + '\n');
            if (!lines.length && !notes.length) return out(`# nothing is missing: ${a.closure.program} has every file it needs to start\n`);
            await out([...notes, ...lines].map(printable).join('\n') + '\n');
          },
          true,
        );
      },
    );

  addCommon(
    program
      .command('repair')
      .argument('<image>', 'the image that fails to start')
      .description('write a new image that starts: the original layers plus one with the files it lacks, taken from a donor'),
  )
    .requiredOption('--from <donor>', 'where the files come from: an image (any source form) or a root folder, e.g. the build stage')
    .requiredOption('-o, --output <path>', 'where to write the repaired image')
    .option('--format <format>', 'docker-archive (for docker load), oci-archive, or oci (a layout folder)', imageFormat, 'docker-archive')
    .option('--name <ref>', 'the name the repaired image gets (default: the original name with tag "repaired")')
    .option('--json', 'print what was done as JSON')
    .action(
      async (
        image: string,
        o: CommonOpts & { from: string; output: string; format: 'docker-archive' | 'oci-archive' | 'oci'; name?: string },
      ) => {
        const { repairImage } = await import('./repair/index.js');
        const { makeTempDir, removeTempDir } = await import('./source/tempdir.js');
        const { configPlatform, formatPlatform } = await import('./source/platform.js');
        /** The donor is read for the target's os and architecture, any variant of it. */
        const donorPlatform = (config: ImageConfig | null): string | null => {
          const p = configPlatform(config);
          return p ? formatPlatform({ os: p.os, architecture: p.architecture }) : null;
        };
        await withImage(
          image,
          o,
          async (m) =>
            withImage(
              o.from,
              {
                ...o,
                tag: undefined,
                platform: donorPlatform(m.config) ?? o.platform,
              },
              async (donor) => {
                const tempDir = makeTempDir();
                try {
                  const name = o.name ?? (m.source.image ? `${m.source.image.replace(/:[^:/]*$/, '')}:repaired` : null);
                  const r = await repairImage(m, donor, { format: o.format, out: o.output, name, donorName: o.from, tempDir });
                  if (o.json) return out(JSON.stringify(r, null, 2) + '\n');
                  await out((await import('./render/repair.js')).renderRepair(r, name, o.from));
                } finally {
                  removeTempDir(tempDir);
                }
              },
              true,
            ),
          true,
        );
      },
    );

  addCommon(
    program
      .command('slim')
      .argument('<image>', 'an image that starts')
      .description('write a FROM scratch image holding only what the program needs (its closure), and say what it saves'),
  )
    .requiredOption('-o, --output <path>', 'where to write the slim image')
    .option('--format <format>', 'docker-archive (for docker load), oci-archive, or oci (a layout folder)', imageFormat, 'docker-archive')
    .option('--name <ref>', 'the name the slim image gets (default: the original name with tag "slim")')
    .option(
      '--keep <path>',
      'also keep this file or folder (repeatable); needed for interpreters',
      (v: string, prev: string[]) => [...prev, v],
      [] as string[],
    )
    .option('--json', 'print what was done as JSON')
    .action(
      async (
        image: string,
        o: CommonOpts & { output: string; format: 'docker-archive' | 'oci-archive' | 'oci'; name?: string; keep: string[] },
      ) => {
        const { slimImage } = await import('./repair/slim.js');
        const { makeTempDir, removeTempDir } = await import('./source/tempdir.js');
        const { formatBytes } = await import('./render/format.js');
        await withImage(
          image,
          o,
          async (m) => {
            const tempDir = makeTempDir();
            try {
              const name = o.name ?? (m.source.image ? `${m.source.image.replace(/:[^:/]*$/, '')}:slim` : null);
              const r = await slimImage(m, { format: o.format, out: o.output, name, keep: o.keep, tempDir });
              if (o.json)
                return out(
                  JSON.stringify(
                    {
                      out: r.out,
                      format: o.format,
                      name,
                      files: r.files,
                      bytes: r.bytes,
                      originalBytes: r.originalBytes,
                      closure: r.closure,
                    } satisfies SlimJson,
                    null,
                    2,
                  ) + '\n',
                );
              const saved = r.originalBytes - r.bytes;
              await out(
                printable(
                  `slim: wrote ${o.output} (${o.format}${name ? `, ${name}` : ''}): ${r.files} files, ${formatBytes(r.bytes)} instead of ${formatBytes(r.originalBytes)}, ` +
                    `${formatBytes(Math.max(0, saved))} saved (${r.originalBytes ? ((100 * Math.max(0, saved)) / r.originalBytes).toFixed(1) : '0'}%); it starts (checked as inspect checks it)`,
                ) + '\n',
              );
            } finally {
              removeTempDir(tempDir);
            }
          },
          true,
        );
      },
    );

  addCommon(program.command('files').argument('<image>').description("the merged file tree, or one layer's changes"))
    .option('--layer <n>', 'show what this layer added (A), modified (M) and removed (D)', layerNumber)
    .option('--json', 'print JSON')
    .action(async (image: string, o: CommonOpts & { layer?: number }) => {
      await withImage(image, o, async (m) => {
        const { changeRecords, fileNodes, fileRecords } = await fsStage();
        const { changesText, filesText, jsonLines, writeAll } = await streamStage();
        if (o.layer !== undefined) {
          if (o.layer >= m.layers.length)
            throw new ScopeError(
              'usage',
              `the image has ${m.layers.length} layers (0-${m.layers.length - 1}); there is no layer ${o.layer}`,
            );
          const layer = o.layer;
          const changes = () => changeRecords(m.tree, layer);
          await writeAll(o.json ? jsonLines(changes()) : changesText(changes), out);
          return;
        }
        const files = () => fileRecords(m.tree);
        await writeAll(o.json ? jsonLines(files()) : filesText(files, () => fileNodes(m.tree)), out);
      });
    });

  addCommon(
    program
      .command('cat')
      .argument('<image>')
      .argument('<path>', 'absolute path inside the image')
      .description("write one file's content to stdout (symlinks followed inside the image)"),
  ).action(async (image: string, path: string, o: CommonOpts) => {
    await withImage(image, o, async (m) => {
      const { mustResolve, streamContent } = await fsStage();
      const r = mustResolve(m.tree, path.startsWith('/') ? path : '/' + path);
      if (r.node.type === 'dir') throw new ScopeError('usage', `${path}: is a directory`);
      if (!r.node.content) throw new ScopeError('usage', `${path}: is a ${r.node.type}, not a regular file`);
      await streamContent(m.opened.layers, r.node.content, (c) => out(c as unknown as string));
    });
  });

  return program;
}

async function explain(code: string): Promise<void> {
  const { EXPLAIN, explainText } = await import('./diagnose/explain.js');
  const text = explainText(code);
  if (text === null) throw new ScopeError('usage', `no diagnostic code ${code}; codes: ${Object.keys(EXPLAIN).join(', ')}`);
  await out(text);
}

/** One line, escaped: messages name files and fields the image controls. */
function fail(message: string, code: number): never {
  try {
    process.stderr.write(`scratchscope: ${printable(message)}\n`);
  } catch {
    /* stderr is gone too: the exit code is all that is left */
  }
  process.exit(code);
}

/** A system error the machine caused (a full disk, a closed stream), not a bug. */
function systemError(e: unknown): string | null {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== 'string' || !err.syscall) return null;
  return `${err.path ? err.path + ': ' : ''}${err.syscall} failed: ${err.message.replace(/^\w+: /, '').replace(/, \w+.*$/, '')} (${err.code})`;
}

function report(e: unknown): never {
  if (isScopeError(e)) fail(e.message, exitCode(e.code));
  const sys = systemError(e);
  if (sys) fail(sys, EXIT.input);
  if (e instanceof RangeError && /allocation failed|out of memory/i.test(e.message)) fail(`out of memory (${e.message})`, EXIT.input);
  if (process.env.SCRATCHSCOPE_DEBUG) console.error(e);
  fail(`internal error: ${(e as Error)?.message ?? String(e)} (please report it; SCRATCHSCOPE_DEBUG=1 shows details)`, EXIT.internal);
}

export async function main(argv: string[]): Promise<void> {
  // Overwrites the command line others see in ps, where --creds would show.
  process.title = 'scratchscope';
  // A run that draws nothing while it works collects only when the old generation reaches
  // its limit, with no marking begun early (the explorer turns it back on: see above). While
  // layers inflate, V8 kept beginning to mark a 10 MB heap (its limit starts small, and a
  // stream of inflated chunks kept it near) and finished a full collection every 100 ms:
  // 70 in a gzip `files`, a fifth of `inspect`'s time. Elsewhere it made no difference.
  setFlagsFromString('--no-incremental-marking');
  process.on('unhandledRejection', report);
  process.on('uncaughtException', report);
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0); // the reader is gone (| head): nothing is wrong
    fail(`cannot write to standard output: ${systemError(e) ?? e.message}`, EXIT.input);
  });
  process.stderr.on('error', () => process.exit(EXIT.input));
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
      process.exit(EXIT.usage);
    }
    report(e);
  }
}
