import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type IPPool, validateIPPoolObject } from '../api/index.js';
import { formatRanges, parseIP, poolAllocatableSet } from '../ip/index.js';
import { kubeVipAddresses } from './kubevip-addresses.js';
import { convertKubeVipConfigMap, type KubeVipConversion, renderKubeVipPools } from './kubevip-pools.js';

const configMap = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'kubevip', namespace: 'kube-system' },
  data,
});

const convert = (data: Record<string, string>) => convertKubeVipConfigMap(configMap(data));

function poolNamed(c: KubeVipConversion, name: string, namespace?: string): IPPool {
  const found = c.pools.find(
    ({ pool }) => pool.metadata?.name === name && pool.metadata?.namespace === namespace,
  );
  if (!found) throw new Error(`no pool ${namespace ?? ''}/${name} in ${JSON.stringify(c)}`);
  return found.pool;
}

/** What our pool hands out, computed the way the allocator does: kube-vip's set, nothing else. */
function handsOut(pool: IPPool): string[] {
  const set = poolAllocatableSet(pool.spec);
  if (!set.ok) throw new Error(set.error);
  return formatRanges(set.value.family, set.value.addresses);
}

describe('kube-vip-cloud-provider ConfigMap to pools', () => {
  it('hands out the whole of a CIDR, network and broadcast included, as kube-vip-cloud-provider does', () => {
    const c = convert({ 'cidr-global': '192.168.0.220/29' });
    expect(c.errors).toEqual([]);
    const pool = poolNamed(c, 'kube-vip-global-ipv4');
    expect(pool).toMatchObject({
      apiVersion: 'ipam.cluster.x-k8s.io/v1alpha2',
      kind: 'GlobalInClusterIPPool',
      metadata: { labels: { 'ipam.cluster.x-k8s.io/service-lb': 'true' } },
      spec: { addresses: ['192.168.0.216/29'], prefix: 29, allocateReservedIPAddresses: true },
    });
    expect(pool.spec.gateway).toBeUndefined();
    expect(handsOut(pool)).toEqual(['192.168.0.216-192.168.0.223']);
  });

  it('leaves out every IPv4 address ending in .0 or .255, of CIDRs and ranges alike', () => {
    const c = convert({ 'cidr-global': '10.20.0.0/24', 'range-dev': '10.30.0.250-10.30.1.5' });
    expect(handsOut(poolNamed(c, 'kube-vip-global-ipv4'))).toEqual(['10.20.0.1-10.20.0.254']);
    expect(c.notes.some((n) => n.startsWith('range-dev: never used'))).toBe(true);
    const ranged = convert({ 'range-dev': '10.30.0.250-10.30.1.5' });
    expect(handsOut(poolNamed(ranged, 'kube-vip-ipv4', 'dev'))).toEqual([
      '10.30.0.250-10.30.0.254',
      '10.30.1.1-10.30.1.5',
    ]);
    expect(ranged.pools[0]?.comments).toContain(
      'Left out, as kube-vip-cloud-provider never hands them out: 10.30.0.255-10.30.1.0 (addresses ending in .0 or .255)',
    );
  });

  it('with skip-end-ips-in-cidr leaves out the ends of each merged prefix, but not of a /31 or /32', () => {
    const c = convert({
      'cidr-global': '10.0.0.0/30,10.0.0.4/30,10.0.1.0/31,10.0.2.7/32',
      'skip-end-ips-in-cidr': 'true',
    });
    expect(handsOut(poolNamed(c, 'kube-vip-global-ipv4'))).toEqual([
      '10.0.0.1-10.0.0.6',
      '10.0.1.1',
      '10.0.2.7',
    ]);
  });

  it('splits a mixed-family value into one pool per family; of IPv6 every address is handed out', () => {
    const c = convert({ 'range-global': '10.0.0.10-10.0.0.11,2001:db8::10-2001:db8::11' });
    expect(handsOut(poolNamed(c, 'kube-vip-global-ipv4'))).toEqual(['10.0.0.10-10.0.0.11']);
    expect(handsOut(poolNamed(c, 'kube-vip-global-ipv6'))).toEqual(['2001:db8::10-2001:db8::11']);
    const cidr = convert({ 'cidr-ipv6': '2001:db8::10/127' });
    expect(poolNamed(cidr, 'kube-vip-ipv6', 'ipv6').spec).toMatchObject({
      addresses: ['2001:db8::10/127'],
      prefix: 127,
    });
    expect(handsOut(poolNamed(cidr, 'kube-vip-ipv6', 'ipv6'))).toEqual(['2001:db8::10-2001:db8::11']);
  });

  it('looks values up as kube-vip-cloud-provider does: cidr-<ns>, cidr-global, range-<ns>, range-global', () => {
    const c = convert({
      'cidr-global': '10.1.0.0/24',
      'range-global': '10.2.0.1-10.2.0.9',
      'cidr-a': '10.3.0.0/24',
      'range-a': '10.4.0.1-10.4.0.9',
      'range-b': '10.5.0.1-10.5.0.9',
    });
    expect(
      c.pools.map(({ pool }) => `${pool.kind} ${pool.metadata?.namespace ?? ''}/${pool.metadata?.name}`),
    ).toEqual(['GlobalInClusterIPPool /kube-vip-global-ipv4', 'InClusterIPPool a/kube-vip-ipv4']);
    expect(c.notes.filter((n) => n.includes('never used'))).toEqual([
      'range-global: never used by kube-vip-cloud-provider, which takes cidr-global first; not converted.',
      'range-a: never used by kube-vip-cloud-provider, which takes cidr-a first; not converted.',
      'range-b: never used by kube-vip-cloud-provider, which takes cidr-global first for namespace b; not converted.',
    ]);
    const ranges = convert({ 'range-global': '10.2.0.1-10.2.0.9', 'range-b': '10.5.0.1-10.5.0.9' });
    expect(handsOut(poolNamed(ranges, 'kube-vip-ipv4', 'b'))).toEqual(['10.5.0.1-10.5.0.9']);
  });

  it('keeps the global pools from namespaces with a value of their own, DHCP included: they never fall back', () => {
    const c = convert({ 'cidr-global': '10.1.0.0/24', 'cidr-b': '10.3.0.0/24', 'cidr-a': '0.0.0.0/32' });
    expect(poolNamed(c, 'kube-vip-global-ipv4').spec.namespaceSelector).toEqual({
      matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['a', 'b'] }],
    });
    expect(c.pools).toHaveLength(2);
    expect(c.notes.find((n) => n.startsWith('cidr-a:'))).toMatch(/0\.0\.0\.0 .*DHCP.*no pool is made/);
    expect(convert({ 'cidr-global': '10.1.0.0/24' }).pools[0]?.pool.spec.namespaceSelector).toBeUndefined();
  });

  it('turns search-order desc into the Highest strategy', () => {
    expect(
      poolNamed(convert({ 'cidr-global': '10.1.0.0/24', 'search-order': 'desc' }), 'kube-vip-global-ipv4')
        .spec.allocationStrategy,
    ).toBe('Highest');
    expect(
      poolNamed(convert({ 'cidr-global': '10.1.0.0/24', 'search-order': 'asc' }), 'kube-vip-global-ipv4').spec
        .allocationStrategy,
    ).toBeUndefined();
    expect(convert({ 'cidr-global': '10.1.0.0/24', 'search-order': 'down' }).notes).toEqual([
      'search-order: "down" is read by kube-vip-cloud-provider as asc; converted as asc.',
    ]);
  });

  it('explains allow-share, interface and unknown keys instead of dropping them', () => {
    const c = convert({
      'cidr-global': '10.1.0.0/24',
      'allow-share-global': 'true',
      'allow-share-a': 'false',
      'interface-global': 'eth1',
      'cidr-typo': '10.9.0.0/24',
      cidr_global: '10.8.0.0/24',
    });
    expect(c.errors).toEqual([]);
    expect(c.notes.find((n) => n.startsWith('allow-share-global:'))).toContain(
      'ipam.cluster.x-k8s.io/shared-ip-key',
    );
    expect(c.notes.some((n) => n.startsWith('allow-share-a'))).toBe(false);
    expect(c.notes.find((n) => n.startsWith('interface-global:'))).toContain(
      'kube-vip.io/serviceInterface: eth1',
    );
    expect(c.notes).toContain('cidr_global: not a key kube-vip-cloud-provider reads; not converted.');
  });

  it.each([
    ['cidr-global', '10.0.0.0/33', /^"10\.0\.0\.0\/33" is not a CIDR/],
    ['cidr-global', '10.0.0.0/24, 10.0.1.0/24', /^" 10\.0\.1\.0\/24" is not a CIDR/],
    ['cidr-global', '10.0.0.0/24,', /^"" is not a CIDR/],
    ['range-a', '10.0.0.1-', /^"10\.0\.0\.1-":/],
    ['range-a', '10.0.0.1', /is not a range <first>-<last>/],
    ['range-a', '10.0.0.9-10.0.0.1', /is reversed/],
    ['range-a', '10.0.0.1-2001:db8::1', /mixes IPv4 and IPv6/],
    ['allow-share-a', 'yes', /"yes" is not true or false/],
    ['cidr-Not_A_Namespace', '10.0.0.0/24', /is not a namespace name/],
  ])('refuses %s: %s, naming the key', (key, value, message) => {
    const c = convert({ 'cidr-global': '10.1.0.0/24', [key]: value });
    expect(c.errors).toHaveLength(1);
    expect(c.errors[0]?.key).toBe(key);
    expect(c.errors[0]?.message).toMatch(message);
  });

  it('refuses a value too big to list without the addresses kube-vip-cloud-provider skips', () => {
    const c = convert({ 'cidr-global': '10.0.0.0/8' });
    expect(c.errors).toEqual([
      { key: 'cidr-global', message: expect.stringMatching(/65536 ranges, more than one pool may list/) },
    ]);
    expect(convert({ 'cidr-global': '2001:db8::/48' }).errors).toEqual([]);
  });

  it('refuses what is no ConfigMap, and a ConfigMap without any pool', () => {
    expect(convertKubeVipConfigMap({ kind: 'Secret', data: {} }).errors[0]?.message).toMatch(
      /not a ConfigMap/,
    );
    expect(convertKubeVipConfigMap('cidr-global: x').errors).toHaveLength(1);
    expect(convert({ 'search-order': 'desc' }).errors[0]?.message).toMatch(/no cidr-… or range-… key/);
  });

  it('notes pools that share addresses: either may hand such an address out', () => {
    const c = convert({ 'cidr-global': '10.1.0.0/24', 'range-a': '10.1.0.10-10.1.0.20' });
    expect(c.pools).toHaveLength(1); // range-a is shadowed by cidr-global
    const overlap = convert({ 'range-global': '10.1.0.1-10.1.0.50', 'range-a': '10.1.0.10-10.1.0.20' });
    expect(overlap.notes.some((n) => n.includes('overlaps InClusterIPPool a/kube-vip-ipv4'))).toBe(true);
  });

  it('makes pools our webhooks accept', () => {
    const c = convert({
      'cidr-global': '192.168.0.220/29,2001:db8::/64,10.0.0.0/16',
      'range-a': '10.0.0.1-10.0.0.1',
      'cidr-b': '172.16.0.0/31,172.16.9.9/32',
      'search-order': 'desc',
    });
    expect(c.errors).toEqual([]);
    for (const { pool } of c.pools) expect(validateIPPoolObject(pool, pool.kind)).toEqual([]);
  });

  it('prints the pools as YAML documents, with the notes on top and where each comes from above it', () => {
    const c = convert({ 'cidr-global': '10.1.0.0/24', 'cidr-a': '10.3.0.0/30', foo: 'bar' });
    const text = renderKubeVipPools(c);
    expect(text).toMatch(/^# Pools converted from/);
    expect(text).toContain('# NOTE foo: not a key kube-vip-cloud-provider reads; not converted.\n');
    expect(text).toContain('---\n# From cidr-a: 10.3.0.0/30\n');
    const docs = parseAllDocuments(text).map((d) => d.toJS());
    expect(docs).toEqual(c.pools.map(({ pool }) => pool));
  });
});

describe('the addresses kube-vip-cloud-provider hands out', () => {
  /** kube-vip-cloud-provider's rules, address by address (no skip-end-ips-in-cidr). */
  function reference(items: string[]): Set<string> {
    const out = new Set<string>();
    for (const item of items) {
      const [from, to] = item.split('-').map((s) => parseIP(s));
      if (!from?.ok || !to?.ok) throw new Error(item);
      for (let v = from.value.value; v <= to.value.value; v++)
        if (v % 256n !== 0n && v % 256n !== 255n) out.add(String(v));
    }
    return out;
  }

  it('are, for random ranges, exactly the ones a converted pool hands out', () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const items = Array.from({ length: 1 + next(3) }, () => {
        const first = 0x0a000000 + next(1500);
        const last = first + next(600);
        const ip = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
        return `${ip(first)}-${ip(last)}`;
      });
      const c = convert({ 'range-global': items.join(',') });
      const expected = reference(items);
      const got = new Set<string>();
      for (const { pool } of c.pools) {
        const set = poolAllocatableSet(pool.spec);
        if (!set.ok) throw new Error(set.error);
        for (const r of set.value.addresses.ranges)
          for (let v = r.first; v <= r.last; v++) got.add(String(v));
      }
      expect(got, items.join(',')).toEqual(expected);
    }
  });

  it('read a value by its /, whatever its key says', () => {
    const r = kubeVipAddresses('10.0.0.0/30', false);
    expect(r.ok && r.value.readAs).toBe('cidr');
    expect(convert({ 'range-global': '10.0.0.4/30' }).notes[0]).toMatch(/reads "10\.0\.0\.4\/30" as CIDRs/);
  });
});
