/**
 * File capabilities (setcap …+ep) carried in a layer as Go's archive/tar and GNU tar write
 * them (a pax record SCHILY.xattr.security.capability): one outside the runtime's default
 * bounding set makes execve refuse the file. docker run's own answer is in the diagnosis
 * suite (capability-denied, capability-granted); here, the reading of the record.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { forcedCaps } from '../src/archive/tar.js';
import { deniedCaps } from '../src/diagnose/capabilities.js';
import { loadImage } from '../src/load.js';
import { buildReport } from '../src/report/index.js';
import { tempDir } from './helpers/build.js';
import { rawTar } from './helpers/rawtar.js';
import { tinyElf } from './helpers/tinyelf.js';

/** vfs_cap_data as setcap writes it (revision 2): flags, then permitted and inheritable of two words. */
function capData(bits: number[], effective = true, revision = 2): Buffer {
  const b = Buffer.alloc(revision === 1 ? 12 : 20);
  b.writeUInt32LE((revision << 24) | (effective ? 1 : 0), 0);
  for (const bit of bits) {
    const at = bit < 32 ? 4 : 12;
    b.writeUInt32LE((b.readUInt32LE(at) | (1 << (bit % 32))) >>> 0, at);
  }
  return b;
}

describe('file capabilities', () => {
  const tmp = tempDir();
  after(tmp.cleanup);

  it('reads the forced set: effective only, both words, revision 1 too', () => {
    assert.deepEqual(forcedCaps(capData([21]).toString('latin1')), [1 << 21, 0]);
    assert.deepEqual(forcedCaps(capData([38]).toString('latin1')), [0, 1 << 6]);
    assert.equal(forcedCaps(capData([21], false).toString('latin1')), null);
    assert.deepEqual(forcedCaps(capData([14], true, 1).toString('latin1')), [1 << 14, 0]);
    assert.deepEqual(deniedCaps([(1 << 10) | (1 << 14) | (1 << 21), 0]), ['cap_ipc_lock', 'cap_sys_admin']);
    assert.deepEqual(deniedCaps([1 << 10, 0]), []);
  });

  it("--cap-add and --cap-drop (a pod's capabilities too): drops from the default set, then adds", () => {
    assert.deepEqual(deniedCaps([1 << 21, 0], { add: ['SYS_ADMIN'], drop: [] }), []);
    assert.deepEqual(deniedCaps([1 << 21, 0], { add: ['CAP_SYS_ADMIN'], drop: ['ALL'] }), []);
    assert.deepEqual(deniedCaps([1 << 10, 0], { add: [], drop: ['ALL'] }), ['cap_net_bind_service']);
    assert.deepEqual(deniedCaps([1 << 10, 0], { add: [], drop: ['net_bind_service'] }), ['cap_net_bind_service']);
    assert.deepEqual(deniedCaps([1 << 10, 0], { add: ['NET_BIND_SERVICE'], drop: ['ALL'] }), []);
    assert.deepEqual(deniedCaps([(1 << 21) | (1 << 14), 0], { add: ['ALL'], drop: [] }), []);
  });

  for (const [what, bits, link, verdict] of [
    ['cap_sys_admin+ep', [21], false, 'fails'],
    ['cap_ipc_lock+ep, through a hard link', [14], true, 'fails'],
    ['cap_net_bind_service+ep (in the default set)', [10], false, 'starts'],
  ] as const) {
    it(`a program with ${what}`, async () => {
      const app = tinyElf({});
      const entries = [{ name: 'app', mode: 0o755, body: app, pax: { 'SCHILY.xattr.security.capability': capData([...bits]) } }];
      const tar = `${tmp.dir}/${bits.join('-')}-${link}.tar`;
      writeFileSync(tar, rawTar(link ? [...entries, { name: 'run', type: '1', linkname: 'app', mode: 0o755 }] : entries));
      const m = await loadImage(tar, { analysis: true });
      try {
        const r = buildReport(m, { entrypoint: [link ? '/run' : '/app'] });
        assert.equal(r.verdict, verdict);
        if (verdict === 'starts') return;
        const first = r.diagnostics.find((d) => d.severity === 'error')!;
        assert.equal(first.code, 'capability-denied');
        assert.equal(first.runtimeError, `exec ${link ? '/run' : '/app'}: operation not permitted`);
      } finally {
        await m.close();
      }
    });
  }
});
