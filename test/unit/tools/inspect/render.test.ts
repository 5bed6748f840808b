/** Text for people: every part of a message appears, with values exact and long ones cut. */
import { describe, expect, it } from 'vitest';
import { envelopeSchema } from '../../../../src/core/envelope/index.ts';
import { frame } from '../../../../src/core/registry/index.ts';
import { dlqHeaders } from '../../../../src/processors/telemetry/validate.ts';
import { inspectMessage, renderMessage } from '../../../../src/tools/inspect/index.ts';
import { envelopeFixture, fixtureTrust } from './helpers.ts';

const ctx = { trust: fixtureTrust(), nowMs: Date.UTC(2026, 10, 29, 12) };
const origin = (headers: Record<string, string> = {}) => ({
  source: 'kafka' as const,
  topic: 'amoskys.telemetry.raw.v1',
  partition: 3,
  offset: '12',
  timestampMs: Date.UTC(2026, 10, 29, 10, 0, 2),
  key: 'router-1',
  headers,
});

describe('renderMessage', () => {
  it('shows coordinates, wire format, header, signature, device, events and a metric table', () => {
    const text = renderMessage(
      inspectMessage(
        origin(),
        frame(7, envelopeSchema.messageIndexes, envelopeFixture('snmp-ok')),
        'envelope',
        ctx,
      ),
    );
    const lines = text.split('\n');
    expect(lines[0]).toBe(
      '== amoskys.telemetry.raw.v1  partition 3  offset 12  2026-11-29T10:00:02.000Z  key router-1',
    );
    expect(text).toContain('wire format: magic 0, schema id 7, message indexes [0], header 6 + payload');
    expect(text).toContain('idempotency key router-1/60/29932440, key id fixture-key-1');
    expect(text).toContain('signature     verified: verifies under key fixture-key-1');
    expect(text).toContain('device        router-1, protocol snmp, slot start 2026-11-29T10:00:00.000Z');
    expect(text).toContain('events        8 metric, 1 status');
    expect(text).toContain('status        ok, 18 ms, 8/8 varbinds, 1165 bytes collected');
    expect(lines.find((l) => l.includes('if_hc_in_octets'))).toMatch(
      /if_hc_in_octets +18446744073709551615 +counter64 +bytes +1\.3\.6\.1\.2\.1\.31\.1\.1\.1\.6\.2 +ifIndex=2,ifDescr=eth0/,
    );
  });

  it('shows legacy events and flags', () => {
    const text = renderMessage(
      inspectMessage(origin(), frame(7, [0], envelopeFixture('legacy-flow-process')), 'envelope', ctx),
    );
    expect(text).toContain('events        1 flow, 1 process');
    expect(text).toContain('flags         no_metrics, legacy_events');
    expect(text).toContain('10.0.0.5:51514 -> 198.51.100.20:443 tcp, 9007199254740993 bytes');
    expect(text).toContain('pid 4242 (ppid 1) snmpd [Debian-snmp]');
  });

  it('shows a dead letter’s reason and source before the rejected value', () => {
    const headers = dlqHeaders(
      { reason: 'bad_signature', detail: 'signature does not verify' },
      { topic: 'raw', partition: 1, offset: '8', key: 'router-1' },
      Date.UTC(2026, 10, 29, 10, 0, 3),
    );
    const text = renderMessage(
      inspectMessage(origin(headers), frame(7, [0], envelopeFixture('snmp-ok')), 'auto', ctx),
    );
    const lines = text.split('\n');
    expect(lines[1]).toBe('dead letter   bad_signature: signature does not verify');
    expect(lines[2]).toBe('rejected      raw partition 1 offset 8, key router-1 at 2026-11-29T10:00:03.000Z');
    expect(lines[3]).toBe('original (the rejected value, decoded as far as it goes)');
    expect(text).toContain('  signature     verified');
  });

  it('cuts long values unless --full, which adds the text format', () => {
    const message = inspectMessage(origin(), frame(7, [0], envelopeFixture('snmp-ok')), 'envelope', {
      ...ctx,
      full: true,
    });
    expect(renderMessage(message)).not.toContain('text format');
    const full = renderMessage(message, { full: true });
    expect(full).toContain('text format\n  envelope_version: 1');
  });
});
