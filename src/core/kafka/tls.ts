/**
 * TLS towards the brokers: the CA list from `kafka.caFile`, and a handshake check before a client
 * connects. kafkajs reports an untrusted certificate as an ordinary connection error and retries it
 * for about half a minute before giving up with a generic message; one handshake first turns that
 * into an immediate error that says which broker and what to set.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import type { Config } from '../config/index.ts';
import { KafkaConnectionError } from '../errors/index.ts';

/**
 * OpenSSL verification results (and Node's host name check) that mean the broker's certificate is
 * not acceptable with this configuration. Retrying cannot help; a person has to change the CA
 * file, the broker address or the certificate.
 */
const certificateErrorCodes: ReadonlySet<string> = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'HOSTNAME_MISMATCH',
  'IP_ADDRESS_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The `ssl` option kafkajs gets: `false` without TLS, `true` for Node's built-in CAs, else the CAs
 * of `kafka.caFile`. Certificates and host names are always verified.
 * @throws KafkaConnectionError when the CA file cannot be read or holds no PEM certificate.
 */
export function kafkaTlsOptions(kafka: Config['kafka']): boolean | ConnectionOptions {
  if (!kafka.ssl) return false;
  if (kafka.caFile === undefined) return true;
  let pem: string;
  try {
    pem = readFileSync(kafka.caFile, 'utf8');
  } catch (cause) {
    throw new KafkaConnectionError(
      `cannot read kafka.caFile ${kafka.caFile}: ${cause instanceof Error ? cause.message : String(cause)}`,
      { retriable: false, context: { caFile: kafka.caFile }, cause },
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new KafkaConnectionError(
      `kafka.caFile ${kafka.caFile} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)`,
      { retriable: false, context: { caFile: kafka.caFile } },
    );
  }
  return { ca: [pem] };
}

/** `host:port` or `[v6]:port` split for net/tls. */
function splitBroker(broker: string): { host: string; port: number } {
  const i = broker.lastIndexOf(':');
  return { host: broker.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(broker.slice(i + 1)) };
}

type ProbeResult =
  | { kind: 'ok' }
  | { kind: 'unreachable' }
  | { kind: 'rejected'; error: KafkaConnectionError };

/** One TLS handshake with one broker, with the options kafkajs will use. */
function probe(
  broker: string,
  options: ConnectionOptions,
  caFile: string | undefined,
  timeoutMs: number,
): Promise<ProbeResult> {
  const { host, port } = splitBroker(broker);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host,
      port,
      // As kafkajs does: SNI only for names (RFC 6066 forbids IP addresses there).
      ...(net.isIP(host) ? {} : { servername: host }),
      ...options,
    });
    const finish = (result: ProbeResult) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => finish({ kind: 'unreachable' }), timeoutMs);
    socket.once('secureConnect', () => finish({ kind: 'ok' }));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const code = err.code ?? '';
      const trusted = caFile === undefined ? "Node's built-in CA list" : `kafka.caFile ${caFile}`;
      if (certificateErrorCodes.has(code)) {
        const hint =
          code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code.endsWith('_MISMATCH')
            ? 'connect by a name or address the certificate lists (kafka.brokers)'
            : `trusted: ${trusted}; set kafka.caFile (AMOSKYS_KAFKA_CA_FILE) to the PEM file of the CA that signed it`;
        finish({
          kind: 'rejected',
          error: new KafkaConnectionError(
            `TLS: the certificate of Kafka broker ${broker} was rejected: ${err.message} (${code}); ${hint}`,
            { retriable: false, context: { broker, code }, cause: err },
          ),
        });
      } else if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
        // The port answered, but not with TLS: a PLAINTEXT or SASL_PLAINTEXT listener.
        finish({
          kind: 'rejected',
          error: new KafkaConnectionError(
            `TLS: Kafka broker ${broker} did not answer the TLS handshake with TLS (${code}); is it a plaintext listener? (kafka.ssl is true)`,
            { retriable: false, context: { broker, code }, cause: err },
          ),
        });
      } else {
        // Refused, reset, unresolvable: kafkajs retries those and reports them itself.
        finish({ kind: 'unreachable' });
      }
    });
  });
}

/**
 * Does one TLS handshake with each bootstrap broker (in parallel) and returns the first certificate
 * or protocol problem, or `undefined` as soon as one handshake succeeds or when no broker could be
 * reached (kafkajs then retries and reports that itself).
 */
export async function checkBrokerTls(
  kafka: Config['kafka'],
  options: ConnectionOptions,
  timeoutMs: number,
): Promise<KafkaConnectionError | undefined> {
  const probes = kafka.brokers.map((b) => probe(b, options, kafka.caFile, timeoutMs));
  const firstOk = new Promise<undefined>((resolve) => {
    for (const p of probes) void p.then((r) => r.kind === 'ok' && resolve(undefined));
  });
  const all = Promise.all(probes).then((results) => {
    for (const r of results) if (r.kind === 'rejected') return r.error;
    return undefined;
  });
  return Promise.race([firstOk, all]);
}
