/**
 * TabSeparated encoding of the sink (src/sinks/clickhouse/tsv.ts): the exact text and bytes each
 * field becomes, written out by hand from ClickHouse's TabSeparated rules (docs "Formats",
 * TabSeparated: `\b \f \r \n \t \0 \' \\` are escapes; arrays are `['a','b']` with quoted-string
 * escapes; `\N` is NULL), never recomputed with the functions under test.
 */
import { describe, expect, it } from 'vitest';
import {
  TSV_NULL,
  TsvWriter,
  tsvDateTime,
  tsvFloat,
  tsvStringArray,
  tsvText,
} from '../../../../src/sinks/clickhouse/tsv.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('tsvText', () => {
  it('escapes exactly backslash, tab, newline, carriage return and NUL', () => {
    expect(tsvText('a\\b\tc\nd\re\0f')).toBe('a\\\\b\\tc\\nd\\re\\0f');
    expect(tsvText('\\\\')).toBe('\\\\\\\\');
    expect(tsvText('\t\t')).toBe('\\t\\t');
    // A text that reads like NULL stays a string: the backslash is escaped.
    expect(tsvText('\\N')).toBe('\\\\N');
  });

  it('leaves every other character as it is: quotes, other control characters, unicode', () => {
    const other = `'"\b\f\v\x1b\x7f[]{},;=ÄÖü€𝄞 日本語 \u2028`;
    expect(tsvText(other)).toBe(other);
    expect(tsvText('')).toBe('');
    expect(tsvText('plain text, no escapes')).toBe('plain text, no escapes');
  });

  it('escapes all 128 ASCII characters as written out', () => {
    const ascii = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
    const expected = `\\0${ascii.slice(1, 9)}\\t\\n${ascii.slice(11, 13)}\\r${ascii.slice(14, 92)}\\\\${ascii.slice(93)}`;
    expect(tsvText(ascii)).toBe(expected);
    expect(expected.length).toBe(128 + 5);
  });
});

describe('tsvStringArray', () => {
  it('writes an empty array as []', () => {
    expect(tsvStringArray([])).toBe('[]');
  });

  it('quotes every element, empty strings included', () => {
    expect(tsvStringArray(['ifIndex', 'ifDescr'])).toBe("['ifIndex','ifDescr']");
    expect(tsvStringArray([''])).toBe("['']");
    expect(tsvStringArray(['', ''])).toBe("['','']");
  });

  it('escapes quotes, backslashes, tabs, newlines, carriage returns and NUL inside the quotes', () => {
    expect(tsvStringArray(["it's"])).toBe("['it\\'s']");
    expect(tsvStringArray(['C:\\dir'])).toBe("['C:\\\\dir']");
    expect(tsvStringArray(['a\tb', 'c\nd', 'e\rf', 'g\0h'])).toBe("['a\\tb','c\\nd','e\\rf','g\\0h']");
    expect(tsvStringArray(["\\'"])).toBe("['\\\\\\'']");
  });

  it('leaves separators, brackets, double quotes and unicode as they are', () => {
    expect(tsvStringArray(['a,b]', '[c', '"d"'])).toBe(`['a,b]','[c','"d"']`);
    expect(tsvStringArray(['Ethernet 0/1 — uplink', '日本', '𝄞'])).toBe(
      "['Ethernet 0/1 — uplink','日本','𝄞']",
    );
  });

  it('never writes a raw tab or newline: the field stays one TabSeparated field', () => {
    const text = tsvStringArray(['\t', '\n', '\r', "'", '\\']);
    expect(text).not.toMatch(/[\t\n\r]/);
    expect(text).toBe("['\\t','\\n','\\r','\\'','\\\\']");
  });
});

describe('tsvFloat', () => {
  it('spells NaN and the infinities as ClickHouse reads them', () => {
    expect(tsvFloat(Number.NaN)).toBe('nan');
    expect(tsvFloat(Number.POSITIVE_INFINITY)).toBe('inf');
    expect(tsvFloat(Number.NEGATIVE_INFINITY)).toBe('-inf');
  });

  it('keeps the sign of -0 (ClickHouse stores -0 from "-0")', () => {
    expect(tsvFloat(-0)).toBe('-0');
    expect(tsvFloat(0)).toBe('0');
  });

  it('writes the shortest round-tripping decimal, exponents included', () => {
    expect(tsvFloat(1e21)).toBe('1e+21');
    expect(tsvFloat(5e-324)).toBe('5e-324');
    expect(tsvFloat(Number.MAX_VALUE)).toBe('1.7976931348623157e+308');
    expect(tsvFloat(0.1)).toBe('0.1');
    expect(tsvFloat(0.15)).toBe('0.15');
    expect(tsvFloat(-2.5)).toBe('-2.5');
    expect(tsvFloat(8_640_123)).toBe('8640123');
    expect(tsvFloat(2 ** 53 + 2)).toBe('9007199254740994');
    expect(tsvFloat(1e-7)).toBe('1e-7');
  });
});

describe('tsvDateTime', () => {
  it('writes seconds as ten digits, so that small values parse as a unix timestamp', () => {
    expect(tsvDateTime(0)).toBe('0000000000');
    expect(tsvDateTime(1234)).toBe('0000001234');
    expect(tsvDateTime(1_795_946_400)).toBe('1795946400');
    expect(tsvDateTime(4_294_967_295)).toBe('4294967295');
  });
});

describe('TsvWriter', () => {
  it('joins fields with tabs and ends every row with a newline', () => {
    const w = new TsvWriter();
    w.row(['a', 'b', TSV_NULL]);
    w.row(['', '', '']);
    w.row(['only']);
    expect(w.rows).toBe(3);
    expect(w.toBuffer().toString('latin1')).toBe('a\tb\t\\N\n\t\t\nonly\n');
  });

  it('encodes text as UTF-8', () => {
    const w = new TsvWriter();
    w.row(['é', '€', '𝄞']);
    expect(hex(w.toBuffer())).toBe('c3a9' + '09' + 'e282ac' + '09' + 'f09d849e' + '0a');
  });

  it('is empty without rows', () => {
    const w = new TsvWriter();
    expect(w.rows).toBe(0);
    expect(w.toBuffer().length).toBe(0);
  });

  it('writes a binary field of all 256 byte values with only \\0 \\t \\n \\r \\\\ escaped', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const w = new TsvWriter();
    w.row(['before', all, 'after']);
    // 0x00 -> 5c 30, 0x09 -> 5c 74, 0x0a -> 5c 6e, 0x0d -> 5c 72, 0x5c -> 5c 5c; every other byte as is.
    const escaped =
      '5c3001020304050607085c745c6e0b0c5c720e0f101112131415161718191a1b' +
      '1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a3b' +
      '3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b' +
      '5c5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a' +
      '7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a' +
      '9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9ba' +
      'bbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9da' +
      'dbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fa' +
      'fbfcfdfeff';
    expect(escaped.length / 2).toBe(256 + 5);
    const before = Buffer.from('before\t').toString('hex');
    const after = Buffer.from('\tafter\n').toString('hex');
    expect(hex(w.toBuffer())).toBe(before + escaped + after);
  });

  it('keeps binary fields, empty ones included, in place between text fields and rows', () => {
    const w = new TsvWriter();
    w.row([Uint8Array.of(0x0a, 0x41), 'x', new Uint8Array(0)]);
    w.row(['y', Uint8Array.of(0xff, 0x00), Uint8Array.of(0x5c)]);
    w.row(['z']);
    expect(w.rows).toBe(3);
    expect(hex(w.toBuffer())).toBe(
      ['5c6e41', '09', '78', '09', '', '0a', '79', '09', 'ff5c30', '09', '5c5c', '0a', '7a', '0a'].join(''),
    );
  });

  it('keeps every row in order across the 64 Ki-character flushes, text only and mixed with bytes', () => {
    const text = new TsvWriter();
    const expectedText: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const cell = `row-${i}-é-${'x'.repeat(i % 7)}`;
      text.row([cell, String(i)]);
      expectedText.push(`${cell}\t${i}\n`);
    }
    expect(text.rows).toBe(20_000);
    expect(text.toBuffer().equals(Buffer.from(expectedText.join(''), 'utf8'))).toBe(true);

    const mixed = new TsvWriter();
    const expectedMixed: Buffer[] = [];
    for (let i = 0; i < 5_000; i++) {
      const letter = 0x41 + (i % 26);
      const cell = `t${i}`.repeat(4);
      mixed.row([cell, Uint8Array.of(letter, 0x0a), 'ü']);
      expectedMixed.push(Buffer.from(`${cell}\t`), Buffer.of(letter, 0x5c, 0x6e), Buffer.from('\tü\n'));
    }
    expect(mixed.toBuffer().equals(Buffer.concat(expectedMixed))).toBe(true);
  });

  it('writes a binary field that is valid UTF-8 byte for byte, not re-encoded', () => {
    const w = new TsvWriter();
    w.row([Uint8Array.from(Buffer.from('é')), Uint8Array.of(0xc3), 'é']);
    expect(hex(w.toBuffer())).toBe('c3a9' + '09' + 'c3' + '09' + 'c3a9' + '0a');
  });
});
