/**
 * The protobuf text format printer: names and nesting from reflection, exact 64-bit values, enums
 * by name, unknown fields by number, escapes as protoc writes them, malformed bytes without a throw.
 */
import { describe, expect, it } from 'vitest';
import { quoteBytes, textFormatTypes, toTextFormat } from '../../../../src/tools/inspect/text-format.ts';
import { bytesField, varintField } from '../../../helpers/protobuf.ts';
import { envelopeFixture, featureFixture } from './helpers.ts';

describe('toTextFormat', () => {
  it('prints a golden envelope field by field, nested, with exact uint64 and enum names', () => {
    const text = toTextFormat(envelopeFixture('snmp-ok'), textFormatTypes.envelope);
    const lines = text.split('\n');
    expect(lines[0]).toBe('envelope_version: 1');
    expect(lines).toContain('signing_key_id: "fixture-key-1"');
    expect(lines).toContain('device_telemetry {');
    expect(lines).toContain('  device_id: "router-1"');
    expect(lines).toContain('  events {');
    expect(lines).toContain('      metric_name: "if_hc_in_octets"');
    expect(lines).toContain('      counter_value: 18446744073709551615');
    expect(lines).toContain('      numeric_value: 0.15');
    expect(lines).toContain('      state: STATE_OK');
    expect(lines).toContain('        key: "ifDescr"');
    expect(lines.at(-1)).toMatch(/^signature: "(\\[0-7]{3}|[ -~])+"$/);
    // Blocks close as often as they open.
    expect(lines.filter((l) => l.endsWith('{')).length).toBe(lines.filter((l) => l.trim() === '}').length);
  });

  it('prints the legacy FlowEvent with its 2^53 + 1 byte count exactly', () => {
    const text = toTextFormat(envelopeFixture('legacy-flow-process'), textFormatTypes.envelope);
    expect(text).toContain('    flow {\n      src_ip: "10.0.0.5"');
    expect(text).toContain('      bytes: 9007199254740993');
    expect(text).toContain('      cpu_percent: 0.25');
  });

  it('prints fields this reader does not know by number, where they are', () => {
    const text = toTextFormat(envelopeFixture('snmp-v2-unknown-fields'), textFormatTypes.envelope);
    expect(text).toMatch(/^6: "/m);
    expect(text).toMatch(/^ {2}5: "/m);
  });

  it('prints a feature row with its optional columns as they are present', () => {
    const text = toTextFormat(featureFixture('snmpd-rates'), textFormatTypes.featureRow);
    expect(text).toContain('poll_state: POLL_STATE_OK');
    expect(text).toContain('idempotency_key: "router-1/60/29932441"');
  });

  it('ends at malformed bytes with a comment instead of throwing', () => {
    const bytes = Uint8Array.from([...varintField(1, 1), ...bytesField(3, [0x61, 0x62]), 0x2a, 0x10, 0x01]);
    const text = toTextFormat(bytes, textFormatTypes.envelope);
    expect(text.split('\n')).toEqual([
      'envelope_version: 1',
      'idempotency_key: "ab"',
      '# malformed: field 5 is truncated; the rest is not shown',
    ]);
  });

  it('shows a value whose wire type does not fit its declared type as raw', () => {
    // envelope_version (uint32) sent length-delimited.
    const text = toTextFormat(Uint8Array.from(bytesField(1, [0x41])), textFormatTypes.envelope);
    expect(text).toBe('1: "A"  # wire type 2 does not fit envelope_version (uint32)');
  });
});

describe('quoteBytes', () => {
  it('escapes quotes, backslashes and non-printable bytes as protoc does', () => {
    expect(quoteBytes(Uint8Array.from([0x22, 0x5c, 0x41, 0x00, 0xff]))).toBe('"\\"\\\\A\\000\\377"');
    expect(quoteBytes(new TextEncoder().encode('naïve\n'), true)).toBe('"naïve\\n"');
    // Invalid UTF-8 falls back to the exact byte form.
    expect(quoteBytes(Uint8Array.from([0xc3]), true)).toBe('"\\303"');
  });
});
