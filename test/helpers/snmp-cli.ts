import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Config } from '../../src/core/config/index.ts';

/** One line of Net-SNMP CLI output (`-On -Oe -Ot`), as printed. */
export interface CliVarbind {
  /** Numeric OID without the leading dot. */
  oid: string;
  /** `STRING`, `INTEGER`, `Counter32`, `Counter64`, `Gauge32`, `Timeticks`, `OID`, `Hex-STRING`, `Opaque`, `NoSuchObject`, `NoSuchInstance`, `EndOfMibView`. */
  type: string;
  /** The value as printed, strings unquoted. */
  value: string;
}

/**
 * Parses `snmpget`/`snmpbulkwalk -On -Oe -Ot` output. `-Ot` prints TimeTicks as a bare number,
 * and an empty OctetString as `""` without a type.
 */
export function parseSnmpOutput(text: string): CliVarbind[] {
  const out: CliVarbind[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const at = line.indexOf(' = ');
    if (at < 0 || !line.startsWith('.')) continue;
    const oid = line.slice(1, at);
    const rest = line.slice(at + 3);
    if (rest === '""') out.push({ oid, type: 'STRING', value: '' });
    else if (/^\d+$/.test(rest)) out.push({ oid, type: 'Timeticks', value: rest });
    else if (rest.startsWith('No Such Object')) out.push({ oid, type: 'NoSuchObject', value: '' });
    else if (rest.startsWith('No Such Instance')) out.push({ oid, type: 'NoSuchInstance', value: '' });
    else if (rest.startsWith('No more variables')) out.push({ oid, type: 'EndOfMibView', value: '' });
    else {
      const m = /^([A-Za-z0-9-]+): ?(.*)$/.exec(rest);
      if (m === null) throw new Error(`cannot parse Net-SNMP output line: ${line}`);
      const type = m[1] ?? '';
      const raw = m[2] ?? '';
      const value = type === 'STRING' && raw.startsWith('"') ? (JSON.parse(raw) as string) : raw.trim();
      out.push({ oid, type, value });
    }
  }
  return out;
}

const exec = promisify(execFile);
const common = ['-On', '-Oe', '-Ot', '-r', '1', '-t', '2'];

/** `snmpget -v2c` of `oids` from the reference agent of `config`. */
export async function snmpget(config: Config, oids: readonly string[]): Promise<CliVarbind[]> {
  const { stdout } = await exec('snmpget', [
    '-v2c',
    '-c',
    config.snmp.community,
    ...common,
    `${config.snmp.host}:${config.snmp.port}`,
    ...oids,
  ]);
  return parseSnmpOutput(stdout);
}

/** `snmpbulkwalk -v2c` of the subtree `oid` from the reference agent of `config`. */
export async function snmpbulkwalk(config: Config, oid: string): Promise<CliVarbind[]> {
  const { stdout } = await exec('snmpbulkwalk', [
    '-v2c',
    '-c',
    config.snmp.community,
    ...common,
    '-Cr25',
    `${config.snmp.host}:${config.snmp.port}`,
    oid,
  ]);
  return parseSnmpOutput(stdout);
}
