/**
 * Bytes held at once, bounded: a taker waits until enough is given back. One taker larger
 * than the whole bound is let through alone, when nothing else is held.
 */
export class Budget {
  private held = 0;
  private waiting: { n: number; go: () => void }[] = [];

  constructor(readonly limit: number) {}

  take(n: number): Promise<void> {
    if (this.fits(n) && this.waiting.length === 0) {
      this.held += n;
      return Promise.resolve();
    }
    return new Promise((go) => this.waiting.push({ n, go }));
  }

  give(n: number): void {
    this.held -= n;
    // in order: a large taker is not passed over for ever by small ones
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.n)) {
      const w = this.waiting.shift()!;
      this.held += w.n;
      w.go();
    }
  }

  private fits(n: number): boolean {
    return this.held === 0 || this.held + n <= this.limit;
  }
}
