/** os/arch[/variant] strings and the host's own. */
import { ScopeError } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export function parsePlatform(s: string): Platform {
  const [os, architecture, variant] = s.split('/');
  return { os: os || 'linux', architecture: architecture ?? '', variant };
}

const NODE_TO_OCI: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

export function hostPlatform(): Platform {
  return { os: 'linux', architecture: NODE_TO_OCI[process.arch] ?? process.arch };
}

/**
 * The platform an image config names (raw JSON, or the parsed ImageConfig): its os (linux
 * when absent), architecture and variant (arm's v6/v7, arm64's v8). null without an architecture.
 */
export function configPlatform(config: unknown): Platform | null {
  const c = (config && typeof config === 'object' ? config : {}) as Record<string, unknown>;
  if (typeof c.architecture !== 'string' || !c.architecture) return null;
  return {
    os: typeof c.os === 'string' ? c.os : 'linux',
    architecture: c.architecture,
    variant: typeof c.variant === 'string' ? c.variant : undefined,
  };
}

/** Does an image's platform satisfy a wanted one? A wanted platform without a variant takes any. */
export function platformMatches(have: Platform, want: Platform): boolean {
  if (have.os !== want.os || have.architecture !== want.architecture) return false;
  if (!want.variant) return true;
  const v = have.variant ?? (have.architecture === 'arm64' ? 'v8' : undefined);
  return v === want.variant;
}

/** A single image asked for with --platform must be of that platform (a config without an architecture passes). */
export function requirePlatform(have: Platform | null, wanted: string | undefined, where: string): void {
  if (wanted && have && !platformMatches(have, parsePlatform(wanted))) {
    throw new ScopeError('unknown-platform', `${where}: the image is ${formatPlatform(have)}, not ${wanted}`);
  }
}
