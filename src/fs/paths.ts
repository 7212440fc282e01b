/** Joining paths of the image root: a module of its own so that the tree and its resolver share it without a cycle. */
export function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}
