/** What every source produces: a config and an ordered list of layers, each a blob on disk or a folder. */

import type { BlobRef } from '../archive/blob.js';
export type { BlobRef, FileBlob, StreamBlob } from '../archive/blob.js';

export interface LayerSource {
  index: number;
  /** Digest of the blob as stored (compressed for compressed layers), when the format names one. */
  digest: string | null;
  /** Digest of the uncompressed tar, from the config's rootfs.diff_ids. */
  diffId: string | null;
  mediaType: string | null;
  /** The layer's bytes, or a folder for a plain root filesystem. */
  blob: BlobRef | null;
  dir: string | null;
}

export interface ImageConfig {
  os: string | null;
  architecture: string | null;
  variant: string | null;
  entrypoint: string[] | null;
  cmd: string[] | null;
  env: string[];
  workingDir: string;
  user: string;
  exposedPorts: string[];
  labels: Record<string, string>;
  stopSignal: string | null;
}

export interface HistoryEntry {
  created: string | null;
  createdBy: string;
  comment: string | null;
  emptyLayer: boolean;
}

export type SourceKind =
  'docker-archive' | 'oci-archive' | 'oci-layout' | 'skopeo-dir' | 'rootfs-dir' | 'rootfs-tar' | 'docker-daemon' | 'registry';

export interface SourceInfo {
  kind: SourceKind;
  /** What the user typed. */
  reference: string;
  /** The file or folder read (for the daemon: the engine address). */
  location: string;
  /** The image picked inside the source (tag or name), when there was a choice. */
  image: string | null;
  /** os/arch[/variant] of the picked manifest. */
  platform: string | null;
  manifestDigest: string | null;
  configDigest: string | null;
}

export interface OpenedImage {
  source: SourceInfo;
  /** null when the source has no config (a plain root filesystem). */
  config: ImageConfig | null;
  /** The config JSON as the source holds it (what an image written from this one keeps). */
  configRaw?: unknown;
  history: HistoryEntry[];
  layers: LayerSource[];
  /** Removes anything the source wrote to its temp folder. */
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Pick one image of an archive holding several (`docker save a b`). */
  tag?: string;
  /** os/arch[/variant], e.g. linux/arm64. */
  platform?: string;
  /** false: do not check metadata files against the digests their names or descriptors give. */
  verify?: boolean;
  /** skopeo's docker-archive:PATH:@N: the Nth entry of manifest.json, from 0. */
  sourceIndex?: number;
  /** How to reach registries (credentials, TLS, timeouts). */
  registry?: RegistryOptions;
}

export interface RegistryOptions {
  /** user:password, from --creds or --creds-stdin. */
  creds?: string;
  /** Which of the two, for messages (never the value). */
  credsSource?: string;
  /** false: accept any certificate, and plain http where https fails. */
  tlsVerify?: boolean;
  /** Seconds one request may wait for headers or between body bytes. */
  timeout?: number;
}
