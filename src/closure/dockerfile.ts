/**
 * COPY lines that supply a program's closure from a build stage. A COPY source that is a
 * symlink is followed, so copying each file under the name the loader opens (the soname
 * link, not only the real file) gives the loader exactly the path it searches; links in
 * folders (/lib64 -> usr/lib64) become plain folders in the target. One line per folder.
 */

export interface CopyItem {
  /** Path in the build stage. */
  from: string;
  /** Path in the image being built. */
  to: string;
  dir: boolean;
}

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

/** JSON form when a path has a space (the shell form would split it). */
function copy(stage: string, sources: string[], dest: string): string {
  if ([...sources, dest].some((s) => /\s|"/.test(s))) return `COPY --from=${stage} ${JSON.stringify([...sources, dest])}`;
  return `COPY --from=${stage} ${sources.join(' ')} ${dest}`;
}

export function copyLines(stage: string, items: CopyItem[]): string[] {
  const lines: string[] = [];
  // Files copied to the same name in the same folder share one line; folders and renamed
  // files get a line each.
  const byDir = new Map<string, string[]>();
  for (const it of items) {
    const base = it.to.slice(it.to.lastIndexOf('/') + 1);
    // a folder's contents are copied, so a folder gets its own line and its own destination
    if (it.dir) lines.push(copy(stage, [it.from], it.to.endsWith('/') ? it.to : `${it.to}/`));
    else if (it.from.slice(it.from.lastIndexOf('/') + 1) !== base) lines.push(copy(stage, [it.from], it.to));
    else {
      const d = dirOf(it.to);
      const list = byDir.get(d) ?? [];
      if (!list.includes(it.from)) list.push(it.from);
      byDir.set(d, list);
    }
  }
  for (const [d, sources] of [...byDir].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    lines.push(copy(stage, sources, d === '/' ? '/' : `${d}/`));
  return lines;
}
