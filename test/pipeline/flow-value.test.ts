/**
 * The --stage value reader without the yaml package (pipeline/flow-value.ts): whatever it reads,
 * it reads exactly as the yaml package does; everything else it leaves to yaml.
 */
import fc from 'fast-check';
import { parse as yamlParse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseFlowValue } from '../../pipeline/flow-value.js';

/** yaml's reading, or a marker when yaml refuses the text. */
function viaYaml(s: string): unknown {
  try {
    return { ok: yamlParse(s) as unknown };
  } catch {
    return { refused: true };
  }
}

function agrees(s: string): void {
  const v = parseFlowValue(s);
  if (v !== undefined) expect({ ok: v }, s).toStrictEqual(viaYaml(s));
}

const WORDS = [
  '0', '7', '42', '-5', '+3', '007', '-0', '1048575', '9007199254740993', '1.5', '1e5', '1E-2', '.5', '5.', '0x1f', '0o17', '0b1',
  'true', 'True', 'TRUE', 'false', 'FALSE', 'tRue', 'null', 'Null', '~', 'yes', 'no', 'on', 'off', 'y', 'n', '.inf', '-.inf', '.nan', '.NaN',
  'inherit', 'kernel', 'tunnel-key', 'a_b', '_x', 'x+y', 'a.b', 'a/b',
  '192.0.2.1', '203.0.113.0/24', '10.0.0.0/8', '1.2.3', '1.2.3.4.5', '2001:db8::1', '2001:db8::/32', '::1', '::', 'fe80::1%eth0',
  '02:00:00:00:00:01', 'aa:bb', 'a:b', 'a:', ':a', 'a::', '12:30', '1:2:3', '190:20:30', '1_000', '0x', '-', '+', '-a', '-.5',
];

const word = fc.constantFrom(...WORDS);
const key = fc.constantFrom('label', 'ttl', 'match', 'ipDst', 'set', 'vni', 'dst', 'a', 'A_1', 'true', 'null', '__proto__', 'constructor', 'x');
const space = fc.constantFrom('', ' ', '  ');

const tree = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    word,
    fc.tuple(space, fc.array(tie('value'), { maxLength: 4 }), space, fc.boolean()).map(([a, items, b, trailing]) => `[${a}${items.join(`,${a}`)}${trailing && items.length > 0 ? ',' : ''}${b}]`),
    fc
      .tuple(space, fc.array(fc.tuple(key, fc.constantFrom(': ', ':  ', ':', ' : '), tie('value')), { maxLength: 4 }), space)
      .map(([a, pairs, b]) => `{${a}${pairs.map(([k, sep, v]) => `${k}${sep}${v}`).join(`,${a}`)}${b}}`),
  ),
}));

describe('--stage values read without yaml', () => {
  it('reads the values capflow documents, as yaml does', () => {
    const cases = [
      '[{label: 100, ttl: 64}]',
      '[{label: 100, ttl: 64}, {label: 200, tc: 3, ttl: inherit}]',
      '[{match: {ipDst: 203.0.113.0/24}, set: {vni: 42, dst: 192.0.2.2}}]',
      '[{match: {ipDst: 2001:db8::/32, vni: 7}, set: {src: 2001:db8::a, dst: 2001:db8::b, csum: true}}, {drop: true}]',
      '[4789,8472]',
      '[32768, 60999]',
      '192.0.2.1',
      '02:00:00:00:00:01',
      'kernel',
      '{}',
      '[]',
    ];
    for (const c of cases) {
      expect(parseFlowValue(c), c).not.toBeUndefined();
      agrees(c);
    }
    expect(parseFlowValue('[{label: 100, ttl: 64}]')).toStrictEqual([{ label: 100, ttl: 64 }]);
  });

  it('leaves to yaml what it does not read: quotes, floats, null, comments, odd spacing, duplicates', () => {
    for (const c of ['"x"', "'x'", '1.5', '0x10', 'null', '~', 'a # c', '[1,]', '[a b]', '{a:1}', '{a : 1}', '{a: 1, a: 2}', '{a}', '{a: }', '[a: 1]', '{__proto__: 1}', 'a:b', '.inf', '[1, 2', '9007199254740993', '{true: 1}', 'a\tb', '[&x 1, *x]', '!!str 5']) {
      expect(parseFlowValue(c), c).toBeUndefined();
    }
  });

  it('never reads a value differently from yaml (generated flow values)', () => {
    fc.assert(fc.property(tree.value, (s) => agrees(s)), { numRuns: 3000 });
  });

  it('never reads a value differently from yaml (arbitrary text over the flow alphabet)', () => {
    const text = fc.string({ unit: fc.constantFrom(...'[]{},: -+._/0123456789aAbexotrufnl"\'#~&*!\t'.split('')), maxLength: 24 });
    fc.assert(fc.property(text, (s) => agrees(s.trim())), { numRuns: 5000 });
  });
});
