/**
 * Shared memory for the ELF bodies kept out of compressed layers on their way to be decoded
 * (elf/pool.ts): one SharedArrayBuffer, carved first-fit and given back in any order as threads
 * answer; a thread reads its body where it lies, nothing is moved or copied back. A fresh
 * buffer per body cost more than inflating the layer: every page of it faulted in on the copy
 * and went back to the system when collected (a 1 GB layer of libraries: 2.3 s copying, 2.8 s
 * of system time, against 3.8 s to inflate it).
 */

/** Runs are carved in multiples of this (typed-array views of a body stay aligned). */
const ALIGN = 16;
const carve = (n: number) => Math.max(ALIGN, Math.ceil(n / ALIGN) * ALIGN);

export class BodyArena {
  private memory: SharedArrayBuffer | null = null;
  /** Free runs, sorted by start, as pairs: start, end. */
  private free: number[];
  private retired = false;

  /** `size` bytes, reserved on first use (pages are touched only as bodies fill them). */
  constructor(readonly size: number) {
    this.free = [0, size];
  }

  /** `n` bytes of the arena, or null when no free run holds them (the caller makes its own). */
  take(n: number): Buffer | null {
    const len = carve(n);
    for (let i = 0; i < this.free.length; i += 2) {
      const start = this.free[i]!;
      const end = this.free[i + 1]!;
      if (end - start < len) continue;
      if (!this.memory) {
        try {
          this.memory = new SharedArrayBuffer(this.size);
        } catch {
          // no room to reserve it (ulimit -v): every body has its own memory, as before
          this.retire();
          return null;
        }
      }
      if (end - start === len) this.free.splice(i, 2);
      else this.free[i] = start + len;
      return Buffer.from(this.memory, start, n);
    }
    return null;
  }

  /**
   * Takes no more runs and gives none out again: for a load that stopped, whose threads may
   * still be reading bodies they were sent (a run given back then could be written over).
   */
  retire(): void {
    this.free = [];
    this.retired = true;
  }

  /** Whether `b` is a run of this arena. */
  owns(b: Buffer): boolean {
    return this.memory !== null && b.buffer === this.memory;
  }

  /** Gives a run back, joined to the free runs beside it. */
  give(b: Buffer): void {
    if (this.retired || !this.owns(b)) return;
    const start = b.byteOffset;
    const end = start + carve(b.length);
    let i = 0;
    while (i < this.free.length && this.free[i]! < start) i += 2;
    const joinsBefore = i > 0 && this.free[i - 1] === start;
    const joinsAfter = i < this.free.length && this.free[i] === end;
    if (joinsBefore && joinsAfter) {
      this.free[i - 1] = this.free[i + 1]!;
      this.free.splice(i, 2);
    } else if (joinsBefore) this.free[i - 1] = end;
    else if (joinsAfter) this.free[i] = start;
    else this.free.splice(i, 0, start, end);
  }

  /** Bytes free (for tests: all of it once every body is given back). */
  get freeBytes(): number {
    let n = 0;
    for (let i = 0; i < this.free.length; i += 2) n += this.free[i + 1]! - this.free[i]!;
    return n;
  }
}
