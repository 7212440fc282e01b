/**
 * `scratchscope check` as a CI gate: exit codes, SARIF 2.1.0 valid against the published
 * OASIS schema (vendored in fixtures/sarif) with each result on the Dockerfile line
 * responsible, JUnit XML, and GitHub annotations and step summary. The images are the
 * diagnosis suite's, built by the engine from the Dockerfiles the results point into.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import AjvDraft04 from 'ajv-draft-04';
import { parseInstructions } from '../src/report/dockerfile.js';
import { checkJsonOutput } from './helpers/schema.js';
import { tempDir } from './helpers/build.js';
import { at } from './helpers/assert.js';
import { cli, oneLineError } from './helpers/cli.js';
import { parseJson, readJson } from './helpers/json.js';
import { engineAvailable } from './helpers/engine.js';

const REPO = new URL('..', import.meta.url).pathname;
const available = engineAvailable();
const skip = available === true ? false : available;
const SCHEMA = readJson<object>(`${REPO}fixtures/sarif/sarif-schema-2.1.0.json`);

/** The parts of a SARIF log the tests read (the schema checks the rest). */
interface SarifLog {
  runs: {
    tool: { driver: { rules: { id: string }[] } };
    results: {
      ruleId: string;
      ruleIndex: number;
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    }[];
  }[];
}

function sarifValidator() {
  // a CommonJS module: its module.exports is the class, and so is its .default (which is what TypeScript sees)
  const Ajv = AjvDraft04.default;
  const ajv = new Ajv({ strict: false, allErrors: true });
  // The schema names these formats; ajv-draft-04 knows none of them.
  ajv.addFormat('uri', /^[a-z][a-z0-9+.-]*:\S*$/i);
  ajv.addFormat('uri-reference', /^\S*$/);
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  return ajv.compile(SCHEMA);
}

/** For each case: the instruction (as written in its Dockerfile) a finding must point at. */
const POINTS_AT: Record<string, { code: string; instruction: string }> = {
  'user-missing': { code: 'user-missing', instruction: 'USER nobody' },
  'exec-not-found': { code: 'exec-not-found', instruction: 'ENTRYPOINT ["/app"]' },
  'shell-missing': { code: 'shell-missing', instruction: 'CMD /app' },
  'not-executable': { code: 'not-executable', instruction: 'COPY a/hello-static-noexec /app' },
  'interpreter-missing-glibc': { code: 'interpreter-missing', instruction: 'COPY a/hello-glibc /app' },
  'library-missing-glibc': { code: 'library-missing', instruction: 'COPY a/hello-foo-glibc /app' },
  'go-net': { code: 'ca-certificates-missing', instruction: 'FROM scratch' },
};

const dockerfileOf = (c: string) => `fixtures/diagnose/cases/${c}/Dockerfile`;
const lineOf = (c: string, instruction: string) =>
  readFileSync(`${REPO}${dockerfileOf(c)}`, 'utf8')
    .split('\n')
    .indexOf(instruction) + 1;
const run = (args: string[], env: Record<string, string | undefined> = {}) => {
  const r = spawnSync(process.execPath, [`${REPO}bin/scratchscope.js`, ...args], {
    encoding: 'utf8',
    cwd: REPO,
    env: { ...process.env, GITHUB_ACTIONS: undefined, GITHUB_STEP_SUMMARY: undefined, ...env },
    timeout: 120_000,
  });
  const out = { status: r.status, stdout: r.stdout, stderr: r.stderr };
  checkJsonOutput(args, out); // check --format json matches CheckJson in docs/report.schema.json
  return out;
};

describe('check on the diagnosis suite', { skip, timeout: 1_200_000 }, () => {
  const tmp = tempDir();
  after(tmp.cleanup);
  before(() => {
    const b = spawnSync('bash', [REPO + 'fixtures/diagnose/build.sh', `${tmp.dir}/suite`, ...Object.keys(POINTS_AT), 'static'], {
      encoding: 'utf8',
      timeout: 900_000,
    });
    assert.equal(b.status, 0, `building the suite failed: ${b.stderr.slice(-2000)}`);
  });

  for (const [c, want] of Object.entries(POINTS_AT)) {
    it(`${c}: SARIF valid against the 2.1.0 schema, ${want.code} on "${want.instruction}"`, () => {
      const r = run(['check', '--format', 'sarif', '--dockerfile', dockerfileOf(c), `docker-daemon:scratchscope-case/${c}`]);
      const failing = want.code !== 'ca-certificates-missing';
      assert.equal(r.status, failing ? 1 : 0, r.stderr);
      const log = parseJson<SarifLog>(r.stdout);
      const validate = sarifValidator();
      assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
      const run0 = at(log.runs);
      const result = run0.results.find((x) => x.ruleId === want.code);
      assert.ok(result, `${c}: no ${want.code} result`);
      const loc = at(result.locations).physicalLocation;
      assert.equal(loc.artifactLocation.uri, dockerfileOf(c));
      assert.equal(loc.region.startLine, lineOf(c, want.instruction));
      assert.ok(lineOf(c, want.instruction) > 0);
      assert.equal(run0.tool.driver.rules[result.ruleIndex]?.id, want.code);
    });
  }

  it('a SARIF run still fails the gate unless --exit-zero', () => {
    const args = ['check', '--format', 'sarif', 'docker-daemon:scratchscope-case/static', 'docker-daemon:scratchscope-case/user-missing'];
    assert.equal(run(args).status, 1);
    assert.equal(run([...args, '--exit-zero']).status, 0);
    assert.equal(run(['check', 'docker-daemon:scratchscope-case/static']).status, 0);
    assert.equal(run(['check', '--fail-on', 'warning', 'docker-daemon:scratchscope-case/go-net']).status, 1);
  });

  it('JUnit: one test case per image, failed with the runtime line', () => {
    const r = run([
      'check',
      '--format',
      'junit',
      'docker-daemon:scratchscope-case/static',
      'docker-daemon:scratchscope-case/exec-not-found',
    ]);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="scratchscope" tests="2" failures="1" errors="0">/);
    assert.equal((r.stdout.match(/<testcase /g) ?? []).length, 2);
    assert.match(r.stdout, /<failure type="exec-not-found" message="exec: &quot;\/app&quot;: stat \/app: no such file or directory">/);
    assertBalanced(r.stdout);
  });

  it('GitHub Actions: annotations on the Dockerfile line, and a step summary', () => {
    const summary = `${tmp.dir}/summary.md`;
    writeFileSync(summary, '');
    const r = run(['check', '--dockerfile', dockerfileOf('user-missing'), 'docker-daemon:scratchscope-case/user-missing'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    });
    assert.equal(r.status, 1);
    const line = lineOf('user-missing', 'USER nobody');
    assert.match(
      r.stdout,
      new RegExp(
        `^::error file=fixtures/diagnose/cases/user-missing/Dockerfile,line=${line},title=scratchscope user-missing%3A docker-daemon%3Ascratchscope-case/user-missing::.*%0Athe runtime says: unable to find user nobody: no matching entries in passwd file%0Afix: `,
        'm',
      ),
    );
    assert.match(
      readFileSync(summary, 'utf8'),
      /\| `docker-daemon:scratchscope-case\/user-missing` \| ❌ fails \| `user-missing`: unable to find user nobody/,
    );
    // With SARIF on stdout, the annotations go to stderr so the document stays valid.
    const s = run(['check', '--format', 'sarif', 'docker-daemon:scratchscope-case/user-missing'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    });
    assert.ok(parseJson<SarifLog>(s.stdout).runs);
    assert.match(s.stderr, /^::error title=/m);
  });
});

/** Every element closes, in order: enough to catch broken XML without an XML library. */
function assertBalanced(xml: string): void {
  const stack: string[] = [];
  for (const m of xml.replace(/<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([a-zA-Z-]+)[^>]*?(\/?)>/g)) {
    const [, closing, name = '', selfClosing] = m; // name is not an optional group
    if (selfClosing) continue;
    if (closing) assert.equal(stack.pop(), name);
    else stack.push(name);
  }
  assert.deepEqual(stack, []);
}

describe('check: bad input and Dockerfile parsing', () => {
  it('a missing Dockerfile is one line, exit 4 (not found)', () => {
    assert.equal(
      oneLineError(cli(['check', '--dockerfile', '/nonexistent/Dockerfile', `${REPO}fixtures/images/hello.docker.tar`]), 4),
      'scratchscope: /nonexistent/Dockerfile: no such file or directory',
    );
  });
  it('an unknown format is refused with exit 2', () => {
    assert.equal(cli(['check', '--format', 'xml', `${REPO}fixtures/images/hello.docker.tar`]).status, 2);
  });
  it('continuations, comments and stages: the final stage, each instruction at its first line', () => {
    const ins = parseInstructions(
      '# syntax\nFROM golang AS build\nRUN go build \\\n  -o /out/app\n\nFROM scratch\n# the program\nCOPY --from=build \\\n   /out/app /app\nENTRYPOINT ["/app"]\n',
    );
    assert.deepEqual(
      ins.map((i) => [i.keyword, i.line]),
      [
        ['FROM', 2],
        ['RUN', 3],
        ['FROM', 6],
        ['COPY', 8],
        ['ENTRYPOINT', 10],
      ],
    );
    assert.equal(ins[3]?.args, '--from=build /out/app /app');
  });
  it('a SARIF log from an archive, without a Dockerfile, is valid too', () => {
    const r = cli(['check', '--format', 'sarif', `${REPO}fixtures/images/broken.docker.tar`]);
    assert.equal(r.status, 1);
    const validate = sarifValidator();
    const log = parseJson<SarifLog>(r.stdout);
    assert.ok(validate(log), JSON.stringify(validate.errors));
    assert.equal(at(at(log.runs).results).ruleId, 'interpreter-missing');
  });
});
