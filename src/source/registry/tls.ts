/**
 * TLS trust per registry host, found where the docker CLI and podman look: the system's
 * CA bundle and Node's roots, then certs.d folders named HOST[:PORT] holding *.crt (CAs)
 * and *.cert/*.key pairs (a client certificate), as docker's and containers-certs.d(5) say.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { ScopeError } from '../../errors.js';

export interface TlsFiles {
  ca: string[];
  cert?: string;
  key?: string;
  /** The folders that contributed, for messages. */
  from: string[];
}

const SYSTEM_BUNDLES = ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem'];

/** containers-certs.d(5): the user's folder first, then the system's; docker's last. */
export function certsDirs(): string[] {
  return [join(homedir(), '.config/containers/certs.d'), '/etc/containers/certs.d', '/etc/docker/certs.d'];
}

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScopeError('io', `${file}: ${(e as Error).message}`);
  }
}

export function tlsFor(host: string): TlsFiles {
  const ca = [...rootCertificates];
  const system = SYSTEM_BUNDLES.find((f) => existsSync(f));
  if (system) ca.push(read(system));
  const out: TlsFiles = { ca, from: [] };
  for (const root of certsDirs()) {
    const dir = join(root, host);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    out.from.push(dir);
    for (const n of names) {
      if (n.endsWith('.crt')) ca.push(read(join(dir, n)));
      else if (n.endsWith('.cert') && !out.cert) {
        const key = join(dir, n.slice(0, -'.cert'.length) + '.key');
        if (!existsSync(key)) throw new ScopeError('usage', `${join(dir, n)}: client certificate without its key ${key}`);
        out.cert = read(join(dir, n));
        out.key = read(key);
      }
    }
  }
  return out;
}
