import { describe, expect, it } from 'vitest';
import { formatFieldError } from './errors.js';
import { isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidLabelValue } from './names.js';
import {
  type LabelSelector,
  parseLabelSelector,
  selectorMatches,
  validateLabelSelector,
} from './selector.js';

const messages = (selector: LabelSelector) =>
  validateLabelSelector(selector, 'spec.namespaceSelector').map(formatFieldError);

describe('Kubernetes name checks, in apimachinery’s words', () => {
  it('accepts DNS-1123 labels and subdomains and says what is wrong with others', () => {
    expect(isDNS1123Label('capi-system')).toEqual([]);
    expect(isDNS1123Label('a.b')).toEqual(['must not contain dots']);
    expect(isDNS1123Label('A')).toEqual([
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    expect(isDNS1123Label('a'.repeat(64))).toEqual(['must be no more than 63 characters']);
    expect(isDNS1123Subdomain('web-md-0-x7k2p-0-0')).toEqual([]);
    expect(isDNS1123Subdomain('vip.cluster-a')).toEqual([]);
    expect(isDNS1123Subdomain('Bad_Name')[0]).toMatch(/^a lowercase RFC 1123 subdomain must consist/);
    expect(isDNS1123Subdomain('a'.repeat(254))).toContain('must be no more than 253 characters');
  });

  it('checks label keys as qualified names and label values', () => {
    expect(isQualifiedName('kubernetes.io/metadata.name')).toEqual([]);
    expect(isQualifiedName('team')).toEqual([]);
    expect(isQualifiedName('/team')).toEqual(['prefix part must be non-empty']);
    expect(isQualifiedName('Example.com/team')[0]).toMatch(/^prefix part a lowercase RFC 1123 subdomain/);
    expect(isQualifiedName('a/b/c')[0]).toMatch(/^a qualified name must consist of/);
    expect(isQualifiedName('')).toHaveLength(2);
    expect(isQualifiedName('x'.repeat(64))).toContain('name part must be no more than 63 characters');
    expect(isValidLabelValue('')).toEqual([]);
    expect(isValidLabelValue('Prod_1')).toEqual([]);
    expect(isValidLabelValue('x y')[0]).toMatch(/^a valid label must be an empty string or consist of/);
  });
});

describe('validateLabelSelector', () => {
  it('admits matchLabels and every operator used as Kubernetes allows', () => {
    expect(
      messages({
        matchLabels: { 'kubernetes.io/metadata.name': 'team-a', tier: '' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'staging'] },
          { key: 'env', operator: 'NotIn', values: ['dev'] },
          { key: 'ipam', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist', values: [] },
        ],
      }),
    ).toEqual([]);
  });

  it.each<[string, LabelSelector, string[]]>([
    [
      'In without values',
      { matchExpressions: [{ key: 'env', operator: 'In' }] },
      [
        "spec.namespaceSelector.matchExpressions[0].values: Required value: must be specified when `operator` is 'In' or 'NotIn'",
      ],
    ],
    [
      'NotIn with an empty list',
      { matchExpressions: [{ key: 'env', operator: 'NotIn', values: [] }] },
      ['spec.namespaceSelector.matchExpressions[0].values: Required value'],
    ],
    [
      'Exists with values',
      { matchExpressions: [{ key: 'env', operator: 'Exists', values: ['x'] }] },
      [
        "spec.namespaceSelector.matchExpressions[0].values: Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
      ],
    ],
    [
      'DoesNotExist with values',
      { matchExpressions: [{ key: 'env', operator: 'DoesNotExist', values: ['x'] }] },
      ['spec.namespaceSelector.matchExpressions[0].values: Forbidden'],
    ],
    [
      'an unknown operator (they are case-sensitive)',
      { matchExpressions: [{ key: 'env', operator: 'in' as 'In', values: ['x'] }] },
      [
        'spec.namespaceSelector.matchExpressions[0].operator: Invalid value: "in": not a valid selector operator',
      ],
    ],
    [
      'a bad key in an expression',
      { matchExpressions: [{ key: 'a b', operator: 'Exists' }] },
      ['spec.namespaceSelector.matchExpressions[0].key: Invalid value: "a b": name part must consist of'],
    ],
    [
      'a bad value in an expression',
      { matchExpressions: [{ key: 'env', operator: 'In', values: ['ok', 'not ok'] }] },
      [
        'spec.namespaceSelector.matchExpressions[0].values[1]: Invalid value: "not ok": a valid label must be',
      ],
    ],
    [
      'a bad matchLabels key (Kubernetes names the map)',
      { matchLabels: { 'a/b/c': 'x' } },
      ['spec.namespaceSelector.matchLabels: Invalid value: "a/b/c": a qualified name must consist of'],
    ],
    [
      'a bad matchLabels value',
      { matchLabels: { env: '-prod' } },
      ['spec.namespaceSelector.matchLabels: Invalid value: "-prod": a valid label must be'],
    ],
  ])('refuses %s, naming the field', (_what, selector, expected) => {
    const got = messages(selector);
    expect(got).toHaveLength(expected.length);
    for (const [i, text] of expected.entries()) expect(got[i]).toContain(text);
  });
});

describe('parseLabelSelector', () => {
  it('returns a valid selector, nulls taken as absent', () => {
    expect(parseLabelSelector({ matchLabels: { a: 'b' }, matchExpressions: null })).toEqual({
      ok: true,
      selector: { matchLabels: { a: 'b' } },
    });
    expect(parseLabelSelector({})).toEqual({ ok: true, selector: {} });
  });

  it.each<[string, unknown, string]>([
    ['a selector that is not an object', 'team=a', 'spec.namespaceSelector: Invalid value: "team=a"'],
    ['matchLabels as a list', { matchLabels: ['a'] }, 'spec.namespaceSelector.matchLabels: Invalid value'],
    ['a label value that is a number', { matchLabels: { a: 1 } }, 'spec.namespaceSelector.matchLabels.a'],
    ['matchExpressions as an object', { matchExpressions: {} }, 'spec.namespaceSelector.matchExpressions'],
    ['an expression without key', { matchExpressions: [{ operator: 'Exists' }] }, '[0].key: Required value'],
    ['an expression without operator', { matchExpressions: [{ key: 'a' }] }, '[0].operator: Required value'],
    [
      'values that are not strings',
      { matchExpressions: [{ key: 'a', operator: 'In', values: [1] }] },
      '[0].values[0]: Invalid value: 1',
    ],
    ['a rule broken', { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['b'] }] }, 'Forbidden'],
  ])('refuses %s', (_what, value, expected) => {
    const parsed = parseLabelSelector(value);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map(formatFieldError).join('\n')).toContain(expected);
  });
});

describe('selectorMatches', () => {
  const labels = { 'kubernetes.io/metadata.name': 'team-a', env: 'prod', ipam: '' };

  it('selects everything when the selector is absent or empty', () => {
    expect(selectorMatches(undefined, labels)).toBe(true);
    expect(selectorMatches(undefined, undefined)).toBe(true);
    expect(selectorMatches({}, {})).toBe(true);
    expect(selectorMatches({ matchLabels: {}, matchExpressions: [] }, undefined)).toBe(true);
  });

  it('needs every matchLabels pair', () => {
    expect(selectorMatches({ matchLabels: { env: 'prod' } }, labels)).toBe(true);
    expect(
      selectorMatches({ matchLabels: { env: 'prod', 'kubernetes.io/metadata.name': 'team-a' } }, labels),
    ).toBe(true);
    expect(selectorMatches({ matchLabels: { env: 'dev' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { team: 'a' } }, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { ipam: '' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { missing: '' } }, labels)).toBe(false);
  });

  it.each<[string, LabelSelector['matchExpressions'], boolean]>([
    ['In with the value', [{ key: 'env', operator: 'In', values: ['dev', 'prod'] }], true],
    ['In without the value', [{ key: 'env', operator: 'In', values: ['dev'] }], false],
    ['In on a missing label', [{ key: 'team', operator: 'In', values: ['a'] }], false],
    ['NotIn with the value', [{ key: 'env', operator: 'NotIn', values: ['prod'] }], false],
    ['NotIn without the value', [{ key: 'env', operator: 'NotIn', values: ['dev'] }], true],
    ['NotIn on a missing label', [{ key: 'team', operator: 'NotIn', values: ['a'] }], true],
    ['Exists on a present (empty) label', [{ key: 'ipam', operator: 'Exists' }], true],
    ['Exists on a missing label', [{ key: 'team', operator: 'Exists' }], false],
    ['DoesNotExist on a missing label', [{ key: 'team', operator: 'DoesNotExist' }], true],
    ['DoesNotExist on a present label', [{ key: 'env', operator: 'DoesNotExist' }], false],
    [
      'all requirements, ANDed',
      [
        { key: 'env', operator: 'In', values: ['prod'] },
        { key: 'team', operator: 'DoesNotExist' },
      ],
      true,
    ],
    [
      'one requirement failing',
      [
        { key: 'env', operator: 'In', values: ['prod'] },
        { key: 'ipam', operator: 'DoesNotExist' },
      ],
      false,
    ],
    ['an operator outside the four (selects nothing)', [{ key: 'env', operator: 'Bogus' as 'In' }], false],
  ])('%s', (_what, matchExpressions, expected) => {
    expect(selectorMatches({ matchExpressions }, labels)).toBe(expected);
  });

  it('does not take inherited properties for labels', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'toString', operator: 'Exists' }] }, {})).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'constructor', operator: 'DoesNotExist' }] }, {}),
    ).toBe(true);
  });

  it('matches labels and expressions together', () => {
    const selector: LabelSelector = {
      matchLabels: { 'kubernetes.io/metadata.name': 'team-a' },
      matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['dev'] }],
    };
    expect(selectorMatches(selector, labels)).toBe(true);
    expect(selectorMatches(selector, { ...labels, env: 'dev' })).toBe(false);
    expect(selectorMatches(selector, { ...labels, 'kubernetes.io/metadata.name': 'team-b' })).toBe(false);
  });
});
