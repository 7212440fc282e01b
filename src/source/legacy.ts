/**
 * `docker save` before Docker 1.10: no manifest.json, a `repositories` file
 * ({name: {tag: id}}) and one folder per layer, `<id>/json` + `<id>/layer.tar`, each json
 * naming its `parent`. The image is the chain from the tagged id down to the root; its
 * config is the top layer's json, as Docker's own loader of this format made it
 * (moby 20.10 image/tarexport/load.go legacyLoadImage: history entry per layer, created_by
 * from container_config.Cmd joined by spaces).
 */
import { ScopeError } from '../errors.js';
import { type Bundle, readJson } from './bundle.js';
import type { Picked } from './oci.js';
import { configPlatform, formatPlatform, requirePlatform } from './platform.js';
import { sameImage, shortName } from './reference.js';

type Json = Record<string, unknown>;

/** More layers than any engine ever stacked (aufs stopped at 127, overlay2 at 128). */
const CHAIN_LIMIT = 4096;
const ID = /^[a-f0-9]{64}$/;

/** Layer ids with a `json` in the bundle. */
function layerIds(bundle: Bundle): string[] {
  return bundle.children('').filter((n) => ID.test(n) && bundle.has(`${n}/json`));
}

/** Does the bundle look like a pre-1.10 save (a repositories file or v1 layer folders)? */
export function isLegacySave(bundle: Bundle): boolean {
  return bundle.has('repositories') || layerIds(bundle).some((id) => bundle.has(`${id}/layer.tar`));
}

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const parentOf = (j: Json): string | null => (typeof j.parent === 'string' && j.parent ? j.parent.replace(/^sha256:/, '') : null);

interface Tagged {
  name: string;
  id: string;
}

function readRepositories(bundle: Bundle, verify: boolean): Tagged[] {
  if (!bundle.has('repositories')) return [];
  const out: Tagged[] = [];
  for (const [repo, tags] of Object.entries(obj(readJson(bundle, 'repositories', null, verify)))) {
    for (const [tag, id] of Object.entries(obj(tags)))
      if (typeof id === 'string') out.push({ name: `${repo}:${tag}`, id: id.replace(/^sha256:/, '') });
  }
  return out;
}

export function pickLegacy(bundle: Bundle, opts: { tag?: string; platform?: string; verify?: boolean }): Picked {
  const verify = opts.verify ?? true;
  const tagged = readRepositories(bundle, verify);
  const ids = layerIds(bundle);
  const list = () =>
    tagged.length
      ? [...new Set(tagged.map((t) => shortName(t.name)))].join(', ')
      : tops(bundle, ids, verify)
          .map((i) => i.slice(0, 12))
          .join(', ');
  let top: string;
  let name: string | null;
  if (opts.tag) {
    const hit =
      tagged.find((t) => sameImage(t.name, opts.tag!)) ??
      (ID.test(opts.tag) || /^[a-f0-9]{12,63}$/.test(opts.tag) ? { name: null, id: ids.find((i) => i.startsWith(opts.tag!)) } : null);
    if (!hit?.id) throw new ScopeError('not-found', `${bundle.location}: no image tagged ${opts.tag}; it holds ${list()}`);
    top = hit.id;
    name = hit.name ? shortName(hit.name) : null;
  } else {
    // Tags name the images; an archive saved by id has none, and its image is the layer nobody names as parent.
    const candidates = tagged.length ? [...new Set(tagged.map((t) => t.id))] : tops(bundle, ids, verify);
    const only = candidates[0];
    if (only === undefined)
      throw new ScopeError('not-an-image', `${bundle.location}: an old docker save layout, but no layer folder has a json`);
    if (candidates.length > 1)
      throw new ScopeError('ambiguous-image', `${bundle.location} holds several images; pick one with --tag: ${list()}`);
    top = only;
    const t = tagged.find((x) => x.id === top);
    name = t ? shortName(t.name) : null;
  }
  const chain = chainOf(bundle, top, verify);
  const tip = chain[chain.length - 1];
  if (!tip) throw new ScopeError('corrupt', `${bundle.location}: image ${top.slice(0, 12)} has no layers`); // chainOf always holds top
  const topJson = tip.json;
  const have = configPlatform(topJson);
  requirePlatform(have, opts.platform, bundle.location);
  const history = chain.map(({ json }) => {
    const cmd = obj(json.container_config).Cmd;
    return {
      created: typeof json.created === 'string' ? json.created : undefined,
      created_by: Array.isArray(cmd) ? cmd.filter((c) => typeof c === 'string').join(' ') : '',
      author: typeof json.author === 'string' ? json.author : undefined,
      comment: typeof json.comment === 'string' ? json.comment : undefined,
    };
  });
  return {
    name,
    platform: have ? formatPlatform(have) : null,
    manifestDigest: null,
    configDigest: null,
    // The layers have no content digests in this format: nothing to check them against.
    configRaw: { ...topJson, history, rootfs: { type: 'layers', diff_ids: [] } },
    layers: chain.map(({ id }) => ({ digest: null, mediaType: null, blob: bundle.blob(`${id}/layer.tar`) })),
  };
}

/** Layer ids no other layer names as its parent: the tops of the images in the archive. */
function tops(bundle: Bundle, ids: string[], verify: boolean): string[] {
  const parents = new Set<string>();
  for (const id of ids) {
    const p = parentOf(obj(readJson(bundle, `${id}/json`, null, verify)));
    if (p) parents.add(p);
  }
  return ids.filter((id) => !parents.has(id));
}

/** The layers from the root up to `top`, following `parent`. */
function chainOf(bundle: Bundle, top: string, verify: boolean): { id: string; json: Json }[] {
  const chain: { id: string; json: Json }[] = [];
  const seen = new Set<string>();
  for (let id: string | null = top; id;) {
    if (seen.has(id)) throw new ScopeError('corrupt', `${bundle.location}: layer ${id.slice(0, 12)} is its own ancestor (a parent loop)`);
    if (chain.length >= CHAIN_LIMIT) throw new ScopeError('too-large', `${bundle.location}: more than ${CHAIN_LIMIT} layers in one image`);
    seen.add(id);
    if (!ID.test(id) || !bundle.has(`${id}/json`)) {
      const child = chain[chain.length - 1];
      throw new ScopeError(
        'missing-blob',
        `${bundle.location}: layer ${id.slice(0, 12)} is missing (no ${id.slice(0, 12)}…/json)${child ? `, named as parent by ${child.id.slice(0, 12)}` : ''}`,
      );
    }
    if (!bundle.has(`${id}/layer.tar`))
      throw new ScopeError('missing-blob', `${bundle.location}: layer ${id.slice(0, 12)} has no layer.tar`);
    const json = obj(readJson(bundle, `${id}/json`, null, verify));
    chain.push({ id, json });
    id = parentOf(json);
  }
  return chain.reverse();
}
