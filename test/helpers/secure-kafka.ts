/**
 * A second, private Kafka broker with a SASL_SSL listener (SCRAM-SHA-512 over TLS), made at test
 * time: a CA and a broker certificate from `openssl`, SCRAM users written into the metadata when
 * the storage is formatted, state and logs in a temporary folder that `stop()` removes. It runs
 * from the jars of the local stack (`infra/local/kafka.sh libs`) on free ports, so the shared
 * plaintext broker is never touched.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { type Config, repoRoot } from '../../src/core/config/index.ts';
import { createKafka } from '../../src/core/kafka/index.ts';
import { waitFor } from './wait.ts';

/** What a test needs to reach the secured broker, and to get it wrong on purpose. */
export interface SecureKafka {
  /** `127.0.0.1:<port>` of the SASL_SSL listener. */
  broker: string;
  /** PEM of the CA that signed the broker's certificate. */
  caFile: string;
  /** PEM of an unrelated CA: a client trusting only this one must refuse the broker. */
  otherCaFile: string;
  /** The SCRAM-SHA-512 user the pipeline connects as, and its random password. */
  username: string;
  password: string;
  /** The broker's own output (Kafka's log4j lines). */
  logFile: string;
  /** `base` pointed at this broker with TLS and SASL; `overrides` replace single settings. */
  configFor(base: Config, overrides?: Partial<Pick<SecureKafkaSettings, 'password' | 'caFile'>>): Config;
  /** The same settings as `AMOSKYS_KAFKA_*` variables, for the CLI. */
  env(overrides?: Partial<Pick<SecureKafkaSettings, 'password' | 'caFile'>>): Record<string, string>;
  /** Stops the broker (TERM, then KILL after 15 s) and removes its folder. Safe to call twice. */
  stop(): Promise<void>;
}

interface SecureKafkaSettings {
  password: string;
  caFile: string;
}

const mechanism = 'scram-sha-512';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, and a broker certificate it signed for 127.0.0.1 and localhost; plus an unrelated CA. */
function makeCertificates(dir: string): { caFile: string; otherCaFile: string; keystore: string } {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const ca = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    ...ca,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=AMOSKYS test CA',
  ]);
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    ...ca,
    '-keyout',
    'other-ca.key',
    '-out',
    'other-ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=Unrelated CA',
  ]);
  openssl(dir, ['req', ...ec, '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    path.join(dir, 'broker.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n',
  );
  const serial = `0x${randomBytes(8).toString('hex')}`;
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'broker.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-set_serial',
    serial,
    '-days',
    '2',
    '-out',
    'broker.pem',
    '-extfile',
    'broker.ext',
  ]);
  // Kafka reads a PEM keystore (ssl.keystore.type=PEM): the PKCS#8 key followed by the certificate.
  const keystore = path.join(dir, 'keystore.pem');
  writeFileSync(
    keystore,
    readFileSync(path.join(dir, 'broker.key'), 'utf8') + readFileSync(path.join(dir, 'broker.pem'), 'utf8'),
    { mode: 0o600 },
  );
  return { caFile: path.join(dir, 'ca.pem'), otherCaFile: path.join(dir, 'other-ca.pem'), keystore };
}

/** Starts the secured broker and waits until an authenticated client can describe the cluster. */
export async function startSecureKafka(base: Config): Promise<SecureKafka> {
  const dir = mkdtempSync(path.join(tmpdir(), 'amoskys-secure-kafka-'));
  chmodSync(dir, 0o700);
  let child: ChildProcess | undefined;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    const proc = child;
    if (proc?.pid !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      // The broker runs in its own process group (detached): signal the group, never a name.
      process.kill(-proc.pid, 'SIGTERM');
      const killer = setTimeout(() => proc.pid !== undefined && process.kill(-proc.pid, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const t0 = Date.now();
  const phase = (what: string) => {
    if (process.env.AMOSKYS_TEST_VERBOSE === '1')
      process.stderr.write(`[secure-kafka +${Date.now() - t0} ms] ${what}\n`);
  };
  try {
    const libs = execFileSync('bash', [path.join(repoRoot, 'infra/local/kafka.sh'), 'libs'], {
      env: { ...process.env, AMOSKYS_STATE_DIR: base.stateDir },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    phase('jars found');
    const { caFile, otherCaFile, keystore } = makeCertificates(dir);
    phase('certificates made');
    const [port, controllerPort] = [await freePort(), await freePort()];
    const broker = `127.0.0.1:${port}`;
    const username = 'amoskys-test';
    const password = `scram-${randomBytes(18).toString('base64url')}`;
    const adminPassword = `admin-${randomBytes(18).toString('base64url')}`;
    const data = path.join(dir, 'data');
    const properties = path.join(dir, 'server.properties');
    writeFileSync(
      properties,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=SASL_SSL://${broker},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=SASL_SSL://${broker}`,
        'listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
        'controller.listener.names=CONTROLLER',
        // The broker talks to itself over the secured listener too (transaction markers).
        'inter.broker.listener.name=SASL_SSL',
        'sasl.enabled.mechanisms=SCRAM-SHA-512',
        'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
        'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule ' +
          `required username="admin" password="${adminPassword}";`,
        'ssl.keystore.type=PEM',
        `ssl.keystore.location=${keystore}`,
        'ssl.truststore.type=PEM',
        `ssl.truststore.location=${caFile}`,
        'ssl.client.auth=none',
        `log.dirs=${data}`,
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=4',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'transaction.state.log.num.partitions=4',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'min.insync.replicas=1',
        'default.replication.factor=1',
        'auto.create.topics.enable=false',
        'group.initial.rebalance.delay.ms=0',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const log4j = path.join(dir, 'log4j2.properties');
    writeFileSync(
      log4j,
      [
        'appender.out.type=Console',
        'appender.out.name=out',
        'appender.out.layout.type=PatternLayout',
        'appender.out.layout.pattern=[%d] %p %m (%c)%n',
        'rootLogger.level=INFO',
        'rootLogger.appenderRef.out.ref=out',
        'logger.config.name=org.apache.kafka.common.config.AbstractConfig',
        'logger.config.level=WARN',
        '',
      ].join('\n'),
    );
    const logFile = path.join(dir, 'broker.log');
    const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
    const jvm = [`-Dlog4j2.configurationFile=${log4j}`, '-cp', `${libs}/*`];
    // SCRAM credentials go into the bootstrap metadata, so they exist before the listener opens.
    // Kafka's Uuid is 16 random bytes in URL-safe base64; making it here saves a JVM start. Like
    // Kafka's own, it never starts with '-', which the tool's argument parser takes for an option
    // (1 run in 64 failed before).
    execFileSync(
      java,
      [
        ...jvm,
        'kafka.tools.StorageTool',
        'format',
        '--config',
        properties,
        '--cluster-id',
        clusterId(),
        '--add-scram',
        `SCRAM-SHA-512=[name=admin,password=${adminPassword}]`,
        '--add-scram',
        `SCRAM-SHA-512=[name=${username},password=${password}]`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    phase('storage formatted');
    const out = openSync(logFile, 'a');
    child = spawn(
      java,
      [
        '-Xms64m',
        '-Xmx384m',
        // C1 only: this broker lives for a minute; a faster start beats peak throughput.
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-Djava.awt.headless=true',
        ...jvm,
        'kafka.Kafka',
        properties,
      ],
      { detached: true, stdio: ['ignore', out, out] },
    );
    closeSync(out);
    const proc = child;
    const logTail = () => readFileSync(logFile, 'utf8').split('\n').slice(-30).join('\n');

    // TLS handshake first (cheap to poll), then an authenticated round trip.
    await waitFor(
      () => {
        if (proc.exitCode !== null)
          throw new Error(`secured broker exited (${proc.exitCode}):\n${logTail()}`);
        return new Promise<boolean>((resolve) => {
          const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(caFile) });
          socket.once('secureConnect', () => {
            socket.destroy();
            resolve(true);
          });
          socket.once('error', () => resolve(false));
        });
      },
      { description: `the secured broker's TLS listener on ${broker}`, timeoutMs: 60_000, intervalMs: 200 },
    );
    phase('TLS listener answers');
    const settings = (overrides: Partial<SecureKafkaSettings> = {}) => ({
      password: overrides.password ?? password,
      caFile: overrides.caFile ?? caFile,
    });
    const secure: SecureKafka = {
      broker,
      caFile,
      otherCaFile,
      username,
      password,
      logFile,
      configFor: (cfg, overrides) => {
        const s = settings(overrides);
        return {
          ...cfg,
          kafka: {
            ...cfg.kafka,
            brokers: [broker],
            ssl: true,
            caFile: s.caFile,
            sasl: { mechanism, username, password: s.password },
          },
        };
      },
      env: (overrides) => {
        const s = settings(overrides);
        return {
          AMOSKYS_KAFKA_BROKERS: broker,
          AMOSKYS_KAFKA_SSL: 'true',
          AMOSKYS_KAFKA_CA_FILE: s.caFile,
          AMOSKYS_KAFKA_SASL_MECHANISM: mechanism,
          AMOSKYS_KAFKA_SASL_USERNAME: username,
          AMOSKYS_KAFKA_SASL_PASSWORD: s.password,
        };
      },
      stop,
    };
    const admin = createKafka(secure.configFor(base), 'secure-kafka-ready').admin();
    await admin.connect();
    try {
      await admin.describeCluster();
    } finally {
      await admin.disconnect();
    }
    phase('authenticated client described the cluster');
    return secure;
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A KRaft cluster id as Kafka makes them: 16 random bytes, URL-safe base64, no leading '-'. */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
