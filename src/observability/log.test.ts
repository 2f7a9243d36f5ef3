import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { processLogger } from './log.js';

describe('processLogger', () => {
  const dir = mkdtempSync(join(tmpdir(), 'log-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has each line in the stream before the call returns, with the keys Cluster API logs', () => {
    const path = join(dir, 'out.log');
    const fd = openSync(path, 'a');
    try {
      const log = processLogger('info', fd).child({ IPAddressClaim: { name: 'c', namespace: 'ns' } });
      log.info({ pool: 'GlobalInClusterIPPool p', address: '10.0.0.7' }, 'IPAddress ns/c has been created');
      log.debug({}, 'not at info');
      // Read without yielding to the event loop: an asynchronous write could not have landed yet.
      const lines = readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({
        level: 30,
        logger: 'capi-ipam-in-cluster',
        IPAddressClaim: { name: 'c', namespace: 'ns' },
        pool: 'GlobalInClusterIPPool p',
        address: '10.0.0.7',
        msg: 'IPAddress ns/c has been created',
      });
    } finally {
      closeSync(fd);
    }
  });
});
