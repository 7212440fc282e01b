/**
 * Things that let the container start but make it misbehave: a static glibc program
 * without its NSS modules, TLS without CA certificates, no /tmp, no time zone data, a
 * cgo build, a binary of another architecture, and a shell-form command that hides the
 * program from `docker stop`.
 */
import { scanFor } from '../elf/scan.js';
import type { ElfInfo } from '../elf/types.js';
import { type MergedTree, type Node, openBytes, resolvePath } from '../fs/index.js';
import type { LoadResult } from '../loader/index.js';
import { CATALOG } from './catalog.js';
import type { Diagnostic } from './types.js';
import { envValue } from '../source/config.js';

/** Where distributions and language runtimes look for CA certificates. */
export const CA_FILES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
] as const;
const CA_DIRS = ['/etc/ssl/certs', '/etc/pki/tls/certs', '/system/etc/security/cacerts'];

export const TLS_LIBS = /^lib(ssl|crypto|gnutls|nss3|mbedtls|wolfssl|curl|boringssl)[.-]/;
/** Strings a program that does TLS carries: Go's crypto/tls, OpenSSL, rustls, mbed TLS. */
export const TLS_MARKERS = [
  'crypto/tls.(*Conn)',
  'crypto/x509.SystemCertPool',
  'OpenSSL 1.',
  'OpenSSL 3.',
  'rustls',
  'mbedtls',
  'wolfSSL',
  'BoringSSL',
];
export const ZONE_MARKERS = ['time.LoadLocation', 'time/tzdata', '/usr/share/zoneinfo'];
/**
 * Functions that create temporary files: Go's and libc's. Every libc names /tmp somewhere,
 * so the path alone says nothing; a static C program only carries these names when it
 * links (and did not strip) them, a dynamic one imports them by name.
 */
export const TMP_MARKERS = ['os.CreateTemp', 'os.MkdirTemp', 'ioutil.TempFile', 'ioutil.TempDir', 'mkstemp', 'mkdtemp', 'tmpfile'];

export interface ProgramFacts {
  path: string;
  node: Node;
  info: ElfInfo;
  load: LoadResult | null;
}

/** Is there a file, a folder, or a folder with something in it, at `path` (links followed)? */
function exists(tree: MergedTree, path: string, want: 'file' | 'dir' | 'filled-dir' = 'file'): boolean {
  const r = resolvePath(tree, path);
  if (!r.ok) return false;
  if (want === 'file') return r.node.type === 'file' || r.node.type === 'hardlink';
  return r.node.type === 'dir' && (want === 'dir' || (r.node.children?.size ?? 0) > 0);
}

/** The needles a file's bytes contain, read in bounded chunks. */
export function scanNode(node: Node, needles: string[]): Set<string> {
  if (!node.content) return new Set();
  const b = openBytes(node.content);
  try {
    return scanFor(b, needles);
  } finally {
    b.release();
  }
}

const base = (d: Partial<Diagnostic> & Pick<Diagnostic, 'code' | 'message' | 'fix'>): Diagnostic => ({
  severity: 'warning',
  path: null,
  layer: null,
  runtimeError: null,
  evidence: [],
  ...d,
});

export function programWarnings(tree: MergedTree, envs: string[], p: ProgramFacts): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { info, node } = p;
  const at = { path: p.path, layer: node.layer };
  const strings = scanNode(node, [...TLS_MARKERS, ...ZONE_MARKERS, ...TMP_MARKERS]);

  if (info.staticNss) {
    const conf = exists(tree, '/etc/nsswitch.conf');
    out.push(
      base({
        code: 'static-glibc-nss',
        ...at,
        message: CATALOG['static-glibc-nss'].message(p.path, conf),
        fix: CATALOG['static-glibc-nss'].fix,
        evidence: [
          'static, glibc (ABI tag note), mentions libnss_ / nsswitch.conf',
          conf ? '/etc/nsswitch.conf present' : '/etc/nsswitch.conf missing',
        ],
      }),
    );
  }

  const libs = (p.load?.dependencies ?? []).map((d) => d.name);
  const tlsLib = libs.find((l) => TLS_LIBS.test(l));
  const tlsString = TLS_MARKERS.find((m) => strings.has(m));
  if (tlsLib || tlsString) {
    const certFile = envValue(envs, 'SSL_CERT_FILE');
    const certDir = envValue(envs, 'SSL_CERT_DIR');
    const have =
      CA_FILES.some((f) => exists(tree, f)) ||
      CA_DIRS.some((d) => exists(tree, d, 'filled-dir')) ||
      (certFile !== null && exists(tree, certFile)) ||
      (certDir !== null && certDir.split(':').some((d) => exists(tree, d, 'filled-dir')));
    if (!have) {
      out.push(
        base({
          code: 'ca-certificates-missing',
          ...at,
          message: CATALOG['ca-certificates-missing'].message(p.path, tlsLib ? `links ${tlsLib}` : `contains ${tlsString}`),
          fix: CATALOG['ca-certificates-missing'].fix,
          evidence: [tlsLib ? `needs ${tlsLib}` : `contains "${tlsString}"`, `none of ${CA_FILES.slice(0, 2).join(', ')}, … exists`],
        }),
      );
    }
  }

  const tmpUse = TMP_MARKERS.find((m) => strings.has(m));
  if (tmpUse && !exists(tree, '/tmp', 'dir') && !envValue(envs, 'TMPDIR')) {
    out.push(
      base({
        code: 'tmp-missing',
        ...at,
        message: CATALOG['tmp-missing'].message(p.path, tmpUse),
        fix: CATALOG['tmp-missing'].fix,
        evidence: [`uses ${tmpUse}`, '/tmp does not exist'],
      }),
    );
  }

  const tz = envValue(envs, 'TZ');
  const loadsZones = strings.has('time.LoadLocation') || (tz !== null && tz !== '' && !tz.startsWith(':') && !/^[A-Z]{3,}[+-]?\d/.test(tz));
  const embedded = strings.has('time/tzdata');
  if (loadsZones && !embedded && !exists(tree, '/usr/share/zoneinfo', 'filled-dir')) {
    out.push(
      base({
        code: 'zoneinfo-missing',
        ...at,
        message: CATALOG['zoneinfo-missing'].message(p.path, tz ? ` (TZ=${tz})` : ' (time.LoadLocation)'),
        fix: info.go ? CATALOG['zoneinfo-missing'].fixGo : CATALOG['zoneinfo-missing'].fix,
        evidence: [strings.has('time.LoadLocation') ? 'contains time.LoadLocation' : `TZ=${tz}`, '/usr/share/zoneinfo does not exist'],
      }),
    );
  }

  if (info.go?.cgo) {
    out.push(
      base({
        code: 'go-cgo-enabled',
        ...at,
        message: CATALOG['go-cgo-enabled'].message(p.path, info.go.version, info.static, info.interpreter),
        fix: CATALOG['go-cgo-enabled'].fix,
        evidence: ['Go build info: CGO_ENABLED=1'],
      }),
    );
  }
  return out;
}

export function archWarning(p: ProgramFacts, configArch: string | null): Diagnostic | null {
  if (!configArch || !p.info.architecture || p.info.architecture === configArch) return null;
  return base({
    code: 'arch-mismatch',
    path: p.path,
    layer: p.node.layer,
    message: CATALOG['arch-mismatch'].message(configArch, p.path, p.info.machine, p.info.architecture),
    fix: CATALOG['arch-mismatch'].fix(configArch, p.info.architecture),
    evidence: [`config architecture ${configArch}`, `ELF machine ${p.info.machine}`],
  });
}

/** A program whose ELF structures are inconsistent: it may fail in ways that depend on what is missing. */
export function damageWarning(p: ProgramFacts): Diagnostic | null {
  if (!p.info.problems.length) return null;
  return {
    code: 'elf-damaged',
    severity: 'warning',
    message: CATALOG['elf-damaged'].message(p.path, p.info.problems),
    path: p.path,
    layer: p.node.layer,
    runtimeError: null,
    fix: CATALOG['elf-damaged'].fix,
    evidence: p.info.problems,
  };
}

/** Layers whose archives are inconsistent (a hard link to nothing, say). */
export function layerWarnings(layers: { index: number; changes: { problems: string[] } }[]): Diagnostic[] {
  return layers.flatMap((l) =>
    l.changes.problems.map((p): Diagnostic => ({
      code: 'layer-problem',
      severity: 'warning',
      message: CATALOG['layer-problem'].message(l.index, p),
      path: null,
      layer: l.index,
      runtimeError: null,
      fix: CATALOG['layer-problem'].fix,
      evidence: [],
    })),
  );
}
