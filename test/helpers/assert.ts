/** Assertions the suites share. */
import assert from 'node:assert/strict';
import { ScopeError } from '../../src/errors.js';

/** `p` fails with a ScopeError of `code` whose one-line message matches `re`. */
export async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ScopeError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    assert.ok(!e.message.includes('\n'), 'one line');
    return true;
  });
}

/** `xs[i]`, which must be there. */
export function at<T>(xs: readonly T[], i = 0): T {
  const x = xs[i];
  assert.ok(x !== undefined, `no item ${i} among ${xs.length}`);
  return x;
}
