/** Where an archive's bytes are: a byte range of a file, or a stream read front to back. */

/** A byte range of a file that holds one blob (a layer tar, compressed or not). */
export interface FileBlob {
  file: string;
  offset: number;
  size: number;
}

/** A blob that can only be read front to back, each open() a fresh stream (a registry's). */
export interface StreamBlob {
  file: null;
  offset: 0;
  size: number;
  open(): AsyncIterable<Buffer>;
}

export type BlobRef = FileBlob | StreamBlob;
