/**
 * TLS settings towards Kafka and the handshake check, against in-process TLS and TCP servers with
 * certificates made by `openssl` for the test.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, defaults, loadConfig } from '../../../../src/core/config/index.ts';
import { ConfigError } from '../../../../src/core/errors/index.ts';
import { checkBrokerTls, kafkaTlsOptions } from '../../../../src/core/kafka/index.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-tls-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

const listen = (server: net.Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );

describe('Kafka TLS', () => {
  let tlsServer: tls.Server;
  let plainServer: net.Server;
  let tlsPort: number;
  let plainPort: number;
  const caFile = path.join(dir, 'ca.pem');
  const otherCaFile = path.join(dir, 'other.pem');

  beforeAll(async () => {
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=test CA',
    );
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      'other.key',
      '-out',
      'other.pem',
      '-days',
      '1',
      '-subj',
      '/CN=other',
    );
    openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(path.join(dir, 'ext'), 'subjectAltName=DNS:localhost\n');
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-set_serial',
      '7',
      '-days',
      '1',
      '-out',
      'server.pem',
      '-extfile',
      'ext',
    );
    tlsServer = tls.createServer(
      { key: readFileSync(path.join(dir, 'server.key')), cert: readFileSync(path.join(dir, 'server.pem')) },
      (socket) => socket.end(),
    );
    tlsServer.on('tlsClientError', () => undefined);
    tlsPort = await listen(tlsServer);
    // Not TLS: answers anything with a line of text, like an HTTP port would.
    plainServer = net.createServer((socket) =>
      socket.once('data', () => socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')),
    );
    plainPort = await listen(plainServer);
  });
  afterAll(() => {
    tlsServer?.close();
    plainServer?.close();
  });

  const kafka = (brokers: string[], caFile?: string): Config['kafka'] => ({
    ...defaults.kafka,
    brokers,
    ssl: true,
    ...(caFile === undefined ? {} : { caFile }),
  });
  const check = (k: Config['kafka']) =>
    checkBrokerTls(k, kafkaTlsOptions(k) === true ? {} : (kafkaTlsOptions(k) as tls.ConnectionOptions), 5000);

  it('passes kafkajs false, true or the CAs of kafka.caFile', () => {
    expect(kafkaTlsOptions({ ...defaults.kafka, ssl: false })).toBe(false);
    expect(kafkaTlsOptions(kafka(['a:1']))).toBe(true);
    expect(kafkaTlsOptions(kafka(['a:1'], caFile))).toEqual({ ca: [readFileSync(caFile, 'utf8')] });
  });

  it('refuses a CA file that is missing or holds no certificate, naming it', () => {
    const missing = path.join(dir, 'nope.pem');
    expect(() => kafkaTlsOptions(kafka(['a:1'], missing))).toThrow(
      `cannot read kafka.caFile ${missing}: ENOENT: no such file or directory, open '${missing}'`,
    );
    expect(() => kafkaTlsOptions(kafka(['a:1'], path.join(dir, 'ca.key')))).toThrow(
      /holds no PEM certificate/,
    );
  });

  it('accepts a broker whose certificate the CA signed for the name connected to', async () => {
    expect(await check(kafka([`localhost:${tlsPort}`], caFile))).toBeUndefined();
  });

  it('rejects a certificate from another CA, naming the broker and the CA file', async () => {
    const err = await check(kafka([`localhost:${tlsPort}`], otherCaFile));
    expect(err?.retriable).toBe(false);
    expect(err?.message).toMatch(
      new RegExp(
        `^TLS: the certificate of Kafka broker localhost:${tlsPort} was rejected: .*\\(UNABLE_TO_VERIFY_LEAF_SIGNATURE\\); trusted: kafka\\.caFile ${otherCaFile};`,
      ),
    );
  });

  it('rejects a certificate that does not name the address connected to', async () => {
    const err = await check(kafka([`127.0.0.1:${tlsPort}`], caFile));
    expect(err?.message).toMatch(
      /\(ERR_TLS_CERT_ALTNAME_INVALID\); connect by a name or address the certificate lists/,
    );
  });

  it('says when the port does not speak TLS at all', async () => {
    const err = await check(kafka([`127.0.0.1:${plainPort}`], caFile));
    expect(err?.message).toMatch(/did not answer the TLS handshake with TLS .*is it a plaintext listener\?/);
  });

  it('leaves unreachable brokers to kafkajs, and is satisfied by one good broker', async () => {
    const closed = net.createServer();
    const closedPort = await listen(closed);
    await new Promise((resolve) => closed.close(resolve));
    expect(await check(kafka([`localhost:${closedPort}`], caFile))).toBeUndefined();
    expect(await check(kafka([`localhost:${closedPort}`, `localhost:${tlsPort}`], caFile))).toBeUndefined();
  });

  it('refuses kafka.caFile without kafka.ssl at start', () => {
    let error: unknown;
    try {
      loadConfig({ env: { AMOSKYS_KAFKA_CA_FILE: caFile }, cwd: dir });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).issues).toEqual([
      {
        path: 'kafka.caFile',
        message: 'kafka.caFile needs kafka.ssl: true (AMOSKYS_KAFKA_SSL=true)',
        value: caFile,
        source: 'env AMOSKYS_KAFKA_CA_FILE',
      },
    ]);
    const { config } = loadConfig({
      env: { AMOSKYS_KAFKA_CA_FILE: caFile, AMOSKYS_KAFKA_SSL: 'true' },
      cwd: dir,
    });
    expect(config.kafka).toMatchObject({ ssl: true, caFile });
  });
});
