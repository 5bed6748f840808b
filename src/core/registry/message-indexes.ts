import protobuf from 'protobufjs';
import { SchemaFileError } from '../errors/index.ts';

/**
 * The Confluent message-index path of a message in a .proto file: its position among the file's
 * top-level messages, then among that message's nested messages, and so on (enums do not count).
 * `[0]` is the first top-level message. Computed from the parsed file rather than written down, so
 * reordering the file cannot silently make producers point at the wrong message.
 * @param protoSource the text of the .proto file as registered
 * @param messageName fully qualified, e.g. `amoskys.telemetry.v1.UniversalEnvelope`
 * @throws SchemaFileError when the file does not parse or does not define the message.
 */
export function protoMessageIndexes(protoSource: string, messageName: string): number[] {
  let parsed: protobuf.IParserResult;
  try {
    parsed = protobuf.parse(protoSource, { keepCase: true });
  } catch (cause) {
    throw new SchemaFileError(`cannot parse the .proto file: ${(cause as Error).message}`, {}, cause);
  }
  const name = messageName.replace(/^\./, '');
  const pkg = parsed.package ?? '';
  if (pkg !== '' && !name.startsWith(`${pkg}.`)) {
    throw new SchemaFileError(`message ${messageName} is not in package ${pkg}`, { message: messageName });
  }
  let container: protobuf.NamespaceBase =
    pkg === '' ? parsed.root : ((parsed.root.lookup(pkg) as protobuf.Namespace | null) ?? parsed.root);
  const indexes: number[] = [];
  for (const segment of (pkg === '' ? name : name.slice(pkg.length + 1)).split('.')) {
    const messages = container.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
    const index = messages.findIndex((m) => m.name === segment);
    const found = messages[index];
    if (found === undefined) {
      throw new SchemaFileError(`the .proto file defines no message ${messageName}`, {
        message: messageName,
      });
    }
    indexes.push(index);
    container = found;
  }
  return indexes;
}
