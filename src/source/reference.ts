/** Image names as people type them, made comparable: "foo" is "docker.io/library/foo:latest". */
export function normalizeName(ref: string): string {
  let name = ref.trim();
  const at = name.indexOf('@');
  let digest = '';
  if (at !== -1) {
    digest = name.slice(at);
    name = name.slice(0, at);
  }
  const lastSlash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  if (!digest && colon <= lastSlash) name += ':latest';
  const first = name.split('/')[0];
  const hasRegistry = name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasRegistry) name = 'docker.io/' + (name.includes('/') ? name : 'library/' + name);
  return name + digest;
}

/** The short form people read: "docker.io/library/foo:latest" is "foo:latest". */
export function shortName(ref: string): string {
  return ref.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '');
}

export function sameImage(a: string, b: string): boolean {
  return normalizeName(a) === normalizeName(b);
}
