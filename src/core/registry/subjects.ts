/**
 * Registers value schemas in a Confluent-compatible Schema Registry (Confluent Schema Registry,
 * Apicurio's ccompat API) with plain fetch, so every status and error body is under our control:
 * a rejected schema must reach the operator as the registry worded it.
 *
 * Endpoints used (Confluent REST API v7):
 *   GET  /config/<subject>                       subject-level compatibility (404: none set)
 *   PUT  /config/<subject>                       {"compatibility": ...}
 *   POST /subjects/<subject>                     is this schema registered? → {id, version} | 404
 *   POST /subjects/<subject>/versions            register → {id}; 409 incompatible, 422 invalid
 *   POST /compatibility/subjects/<subject>/versions/latest   dry run → {is_compatible}
 */
import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.ts';
import { RegistryError, SchemaFileError } from '../errors/index.ts';
import { protoMessageIndexes } from './message-indexes.ts';
import { type CompatibilityLevel, readTopicSchemas } from './topic-schemas.ts';

/** The registry part of the configuration. */
export type RegistryConfig = Pick<Config, 'registry'>;

/** A schema to put under a subject. */
export interface SubjectSchema {
  subject: string;
  compatibility: CompatibilityLevel;
  /** Text of the .proto file, registered as is. */
  schema: string;
}

/** What happened to one subject. */
export type ApplyOutcome =
  | {
      subject: string;
      status: 'registered' | 'unchanged';
      id: number;
      version: number;
      /** Set when the subject's compatibility level was changed (or, in a dry run, would be). */
      compatibilityChange?: { from: string | null; to: CompatibilityLevel };
    }
  | {
      subject: string;
      /** Dry run only: the schema is compatible and would become a new version. */
      status: 'would_register';
      compatibilityChange?: { from: string | null; to: CompatibilityLevel };
    }
  | {
      subject: string;
      /** 409: the registry's compatibility check refused the schema. */
      status: 'incompatible';
      /** The registry's own words. */
      message: string;
      compatibilityChange?: { from: string | null; to: CompatibilityLevel };
    }
  | {
      subject: string;
      /** 422: the registry could not parse or accept the schema. */
      status: 'invalid';
      message: string;
      compatibilityChange?: { from: string | null; to: CompatibilityLevel };
    }
  | { subject: string; status: 'skipped'; message: string };

/** Outcomes that mean the registry does not hold what the topic files declare. */
export function isFailedOutcome(outcome: ApplyOutcome): boolean {
  return outcome.status === 'incompatible' || outcome.status === 'invalid';
}

interface RegistryResponse {
  status: number;
  body: Record<string, unknown>;
}

const contentType = 'application/vnd.schemaregistry.v1+json';

async function request(
  config: RegistryConfig,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<RegistryResponse> {
  const { url, username, password } = config.registry;
  const headers: Record<string, string> = { accept: contentType };
  if (body !== undefined) headers['content-type'] = contentType;
  if (username !== undefined && password !== undefined) {
    headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
  }
  let response: Response;
  try {
    response = await fetch(`${url.replace(/\/$/, '')}${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (cause) {
    throw new RegistryError(`Schema Registry at ${url} did not answer ${method} ${path}: ${String(cause)}`, {
      context: { url, method, path },
      cause,
    });
  }
  const text = await response.text();
  let parsed: unknown = {};
  if (text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { message: text };
    }
  }
  const result = {
    status: response.status,
    body: (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? parsed
      : { value: parsed }) as Record<string, unknown>,
  };
  if (response.status >= 500) {
    throw new RegistryError(
      `Schema Registry answered ${response.status} to ${method} ${path}: ${messageOf(result)}`,
      { status: response.status, context: { url, method, path } },
    );
  }
  return result;
}

function messageOf(response: RegistryResponse): string {
  const { message, error_code: code } = response.body;
  const text = typeof message === 'string' ? message : JSON.stringify(response.body);
  return code === undefined ? text : `${text} (error code ${String(code)})`;
}

function unexpected(response: RegistryResponse, what: string, subject: string): RegistryError {
  return new RegistryError(
    `${what} for subject ${subject} failed with ${response.status}: ${messageOf(response)}`,
    {
      status: response.status,
      context: { subject },
    },
  );
}

const subjectPath = (subject: string) => encodeURIComponent(subject);

/** The subject's own compatibility level, or null when it has none (the global level applies). */
export async function getSubjectCompatibility(
  config: RegistryConfig,
  subject: string,
): Promise<string | null> {
  const response = await request(config, 'GET', `/config/${subjectPath(subject)}`);
  if (response.status === 404) return null;
  if (response.status !== 200) throw unexpected(response, 'reading compatibility', subject);
  const level = response.body.compatibilityLevel ?? response.body.compatibility;
  return typeof level === 'string' ? level : null;
}

/** Sets the subject's compatibility level. */
export async function setSubjectCompatibility(
  config: RegistryConfig,
  subject: string,
  compatibility: CompatibilityLevel,
): Promise<void> {
  const response = await request(config, 'PUT', `/config/${subjectPath(subject)}`, { compatibility });
  if (response.status !== 200) throw unexpected(response, 'setting compatibility', subject);
}

/** The id and version of `schema` under `subject`, or undefined when it is not registered there. */
export async function lookupSchema(
  config: RegistryConfig,
  subject: string,
  schema: string,
): Promise<{ id: number; version: number } | undefined> {
  const response = await request(config, 'POST', `/subjects/${subjectPath(subject)}`, {
    schemaType: 'PROTOBUF',
    schema,
  });
  if (response.status === 404) return undefined;
  if (response.status !== 200) throw unexpected(response, 'looking up the schema', subject);
  return { id: Number(response.body.id), version: Number(response.body.version) };
}

/** Deletes a subject (soft, then with `permanent` for good). Missing subjects are not an error. */
export async function deleteSubject(
  config: RegistryConfig,
  subject: string,
  options: { permanent?: boolean } = {},
): Promise<void> {
  const query = options.permanent === true ? '?permanent=true' : '';
  const response = await request(config, 'DELETE', `/subjects/${subjectPath(subject)}${query}`);
  if (response.status !== 200 && response.status !== 404) throw unexpected(response, 'deleting', subject);
}

/** Options of {@link applySubject} and {@link applyTopicSchemas}. */
export interface ApplyOptions {
  /** Change nothing; report what would change. @default false */
  dryRun?: boolean;
}

/**
 * Makes the registry hold `schema` under `subject` with the given compatibility: sets the
 * compatibility first (so the registration is checked under it), then registers unless the schema
 * is already there. Idempotent. A 409 (incompatible) or 422 (invalid) comes back as an outcome with
 * the registry's message; transport failures and other statuses throw RegistryError.
 */
export async function applySubject(
  config: RegistryConfig,
  spec: SubjectSchema,
  options: ApplyOptions = {},
): Promise<ApplyOutcome> {
  const { subject, compatibility, schema } = spec;
  const current = await getSubjectCompatibility(config, subject);
  const compatibilityChange = current === compatibility ? undefined : { from: current, to: compatibility };
  const change = compatibilityChange === undefined ? {} : { compatibilityChange };
  if (compatibilityChange !== undefined && options.dryRun !== true) {
    await setSubjectCompatibility(config, subject, compatibility);
  }

  const existing = await lookupSchema(config, subject, schema);
  if (existing !== undefined) return { subject, status: 'unchanged', ...existing, ...change };

  if (options.dryRun === true) {
    const check = await request(
      config,
      'POST',
      `/compatibility/subjects/${subjectPath(subject)}/versions/latest`,
      {
        schemaType: 'PROTOBUF',
        schema,
      },
    );
    // 404: no version yet, so anything is compatible.
    if (check.status === 404 || (check.status === 200 && check.body.is_compatible === true)) {
      return { subject, status: 'would_register', ...change };
    }
    if (check.status === 200) {
      const messages = Array.isArray(check.body.messages) ? `: ${check.body.messages.join('; ')}` : '';
      return {
        subject,
        status: 'incompatible',
        message: `not compatible with the latest version under ${current ?? 'the global'} compatibility${messages}`,
        ...change,
      };
    }
    if (check.status === 422) return { subject, status: 'invalid', message: messageOf(check), ...change };
    throw unexpected(check, 'checking compatibility', subject);
  }

  const response = await request(config, 'POST', `/subjects/${subjectPath(subject)}/versions`, {
    schemaType: 'PROTOBUF',
    schema,
  });
  if (response.status === 409)
    return { subject, status: 'incompatible', message: messageOf(response), ...change };
  if (response.status === 422) return { subject, status: 'invalid', message: messageOf(response), ...change };
  if (response.status !== 200) throw unexpected(response, 'registering the schema', subject);
  // The registration answer holds only the id; the lookup gives the version too.
  const registered = await lookupSchema(config, subject, schema);
  if (registered === undefined) {
    throw new RegistryError(`schema registered under ${subject} but not found right after`, {
      context: { subject },
    });
  }
  return { subject, status: 'registered', ...registered, ...change };
}

/** One topic's result of {@link applyTopicSchemas}. */
export type TopicApplyOutcome = ApplyOutcome & {
  topic: string;
  /** The value message: fully qualified name and Confluent message-index path. */
  valueMessage?: { name: string; indexes: number[] };
};

/**
 * `amoskys schemas apply`: for each topic file with a value subject, registers its `valueSchema`
 * (see topic-schemas.ts) with the topic's compatibility. Topics without a value subject are left
 * out; topics with a subject but no schema yet are reported as skipped. Subjects are applied in
 * file-name order; a failure of one does not stop the others.
 * @throws SchemaFileError for an invalid topic file, a missing .proto file, or a message it lacks.
 */
export async function applyTopicSchemas(
  config: RegistryConfig,
  topicsDir: string,
  options: ApplyOptions = {},
): Promise<TopicApplyOutcome[]> {
  const topics = readTopicSchemas(topicsDir);
  // Read and check every schema file before the first request: a typo stops the run up front.
  const plans = topics
    .filter((t) => t.valueSubject !== null)
    .map((t) => {
      if (t.valueSchema === null) return { topic: t, schema: undefined, indexes: undefined };
      let schema: string;
      try {
        schema = readFileSync(t.valueSchema.file, 'utf8');
      } catch (cause) {
        throw new SchemaFileError(
          `topic ${t.topic}: cannot read schema file ${t.valueSchema.relativeFile}`,
          { topicFile: t.topicFile },
          cause,
        );
      }
      if (/^\s*import\s/m.test(schema)) {
        throw new SchemaFileError(
          `topic ${t.topic}: ${t.valueSchema.relativeFile} imports other files; schema references are not supported yet`,
          { topicFile: t.topicFile },
        );
      }
      return { topic: t, schema, indexes: protoMessageIndexes(schema, t.valueSchema.message) };
    });

  const outcomes: TopicApplyOutcome[] = [];
  for (const { topic, schema, indexes } of plans) {
    const subject = topic.valueSubject as string;
    if (schema === undefined || topic.valueSchema === null || topic.compatibility === null) {
      outcomes.push({
        topic: topic.topic,
        subject,
        status: 'skipped',
        message: `topic ${topic.topic} declares no valueSchema yet`,
      });
      continue;
    }
    const outcome = await applySubject(
      config,
      { subject, compatibility: topic.compatibility, schema },
      options,
    );
    outcomes.push({
      ...outcome,
      topic: topic.topic,
      valueMessage: { name: topic.valueSchema.message, indexes: indexes as number[] },
    });
  }
  return outcomes;
}

/**
 * Ids of every registered version of a subject (empty when the subject does not exist). A reader
 * accepts messages framed with any of them; a newer producer may have registered one since start.
 */
export async function subjectSchemaIds(config: RegistryConfig, subject: string): Promise<number[]> {
  const versions = await request(config, 'GET', `/subjects/${subjectPath(subject)}/versions`);
  if (versions.status === 404) return [];
  if (versions.status !== 200) throw unexpected(versions, 'listing versions', subject);
  const list = Array.isArray(versions.body.value) ? (versions.body.value as number[]) : [];
  const ids = await Promise.all(
    list.map(async (version) => {
      const r = await request(config, 'GET', `/subjects/${subjectPath(subject)}/versions/${version}`);
      if (r.status !== 200) throw unexpected(r, `reading version ${version}`, subject);
      return Number(r.body.id);
    }),
  );
  return [...new Set(ids)].sort((a, b) => a - b);
}
