/**
 * Image names as people type them, made comparable as Docker's reference.ParseNormalizedNamed
 * does: "foo", "foo:latest", "docker.io/library/foo" and "index.docker.io/library/foo" are all
 * "docker.io/library/foo:latest".
 */
export function normalizeName(ref: string): string {
  let name = ref.trim().replace(/^index\.docker\.io\//, 'docker.io/');
  const at = name.indexOf('@');
  let digest = '';
  if (at !== -1) {
    digest = name.slice(at);
    name = name.slice(0, at);
  }
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (!digest && colon <= lastSlash) name += ':latest';
  const first = name.split('/')[0] ?? '';
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = 'docker.io/' + (name.includes('/') ? name : 'library/' + name);
  else if (first === 'docker.io' && name.split('/').length === 2) name = 'docker.io/library/' + name.slice('docker.io/'.length);
  return name + digest;
}

/** The short form people read: "docker.io/library/foo:latest" is "foo:latest". */
export function shortName(ref: string): string {
  return ref
    .replace(/^index\.docker\.io\//, 'docker.io/')
    .replace(/^docker\.io\/library\//, '')
    .replace(/^docker\.io\//, '');
}

export function sameImage(a: string, b: string): boolean {
  return normalizeName(a) === normalizeName(b);
}
