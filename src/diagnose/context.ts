/**
 * The loader's view of an image as its config runs it: the tree, the Env, the working
 * folder and the user. The closure, the report and the repair read libraries through it.
 */
import type { BinaryCatalog } from '../elf/catalog.js';
import type { ImageModel } from '../load.js';
import { LIMITS, type LoaderContext } from '../loader/index.js';
import { checkUser } from './user.js';

/** `env`: the environment the program gets when another program made it (env's assignments), else the image's. */
export function loaderContext(model: ImageModel, catalog: BinaryCatalog, env?: string[]): LoaderContext {
  const user = checkUser(model.tree, model.config?.user ?? '').credentials ?? undefined;
  return {
    tree: model.tree,
    catalog,
    env: env ?? model.config?.env ?? [],
    cwd: model.config?.workingDir || '/',
    user,
    probes: new Map(),
    budget: { steps: LIMITS.imageSteps },
    resolutions: new Map(),
  };
}
