/**
 * ajv's errors as one message per problem, each saying what is wrong and what is expected, at the
 * position of the offending key or value. Values that may be secrets are never echoed.
 */
import type { ErrorObject } from 'ajv';
import { dotted, type Path, type Reporter } from './yaml-positions.js';

export function describeValue(v: unknown): string {
  if (v === '[redacted]') return 'a value not shown: it may be a secret';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
}

function valueAt(data: unknown, path: Path): unknown {
  let v: unknown = data;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean (true or false)',
};

const ONE_OF_EXPECTED: Array<[RegExp, string]> = [
  [/\/\$defs\/duration\//, 'a duration like "60s", "4m", "1500ms" or a number of seconds'],
  [/maxDelete/, 'a number of files or a percentage of the target\'s files like "25%"'],
];

/** Turn ajv's errors into one message per problem, each saying what is wrong and what is expected. */
export function reportSchemaErrors(errors: ErrorObject[], data: unknown, r: Reporter): void {
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const seen = new Set<string>();
  for (const e of errors) {
    const path: Path = e.instancePath
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    // Errors from inside a oneOf's branches are summarized by the oneOf error itself.
    if (e.keyword !== 'oneOf' && /\/oneOf\/\d+\//.test(e.schemaPath) && [...oneOfPaths].some((p) => e.instancePath.startsWith(p))) continue;
    const where = dotted(path);
    // Never echo a value that may be a secret, even a malformed one.
    const got = path.some((p) => /password/i.test(String(p))) ? '[redacted]' : valueAt(data, path);
    let msg: string;
    let atKey = false;
    let at = path;
    switch (e.keyword) {
      case 'additionalProperties': {
        const extra = String(e.params.additionalProperty);
        const allowed = Object.keys((e.parentSchema as { properties?: object }).properties ?? {}).join(', ');
        at = [...path, extra];
        atKey = true;
        msg = `unknown key "${extra}" in ${where}; expected one of: ${allowed}`;
        break;
      }
      case 'required':
        msg = `${where} is missing "${String(e.params.missingProperty)}"`;
        break;
      case 'enum':
        msg = `${where} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')} (got ${describeValue(got)})`;
        break;
      case 'const':
        msg = `${where} must be ${JSON.stringify(e.params.allowedValue)} (got ${describeValue(got)})`;
        break;
      case 'type':
        msg = `${where} must be ${TYPE_NAMES[String(e.params.type)] ?? `a ${String(e.params.type)}`} (got ${describeValue(got)})`;
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
      case 'exclusiveMaximum': {
        const op = { minimum: '>=', maximum: '<=', exclusiveMinimum: '>', exclusiveMaximum: '<' }[e.keyword];
        msg = `${where} must be ${op} ${String(e.params.limit)} (got ${describeValue(got)})`;
        break;
      }
      case 'minItems':
        msg = `${where} must have at least ${String(e.params.limit)} item${e.params.limit === 1 ? '' : 's'}`;
        break;
      case 'maxItems':
        msg = `${where} must have at most ${String(e.params.limit)} items`;
        break;
      case 'minProperties':
        msg = `${where} must define at least ${String(e.params.limit)} entry`;
        break;
      case 'minLength':
        msg = `${where} must not be empty`;
        break;
      case 'uniqueItems':
        msg = `${where} lists the same value twice`;
        break;
      case 'pattern':
        msg = /remote/.test(where)
          ? `${where} must be an absolute remote path starting with "/" (got ${describeValue(got)})`
          : `${where} must be a name of letters, digits, "_", "." and "-", starting with a letter or digit (got ${describeValue(got)})`;
        break;
      case 'propertyNames':
        continue; // reported through the nested pattern error
      case 'oneOf': {
        if (/\/\$defs\/sync\/oneOf$/.test(e.schemaPath) || e.schemaPath === '#/$defs/sync/oneOf') {
          msg = `${where} needs either "server" or "servers" (not both)`;
          break;
        }
        const expected = ONE_OF_EXPECTED.find(([re]) => re.test(e.schemaPath) || re.test(where))?.[1] ?? 'one of the documented forms';
        msg = `${where} must be ${expected} (got ${describeValue(got)})`;
        break;
      }
      case 'false schema':
        msg = `${where} is not allowed here`;
        break;
      default:
        msg = `${where} ${e.message ?? 'is invalid'}`;
    }
    if (e.keyword === 'pattern' && e.propertyName !== undefined) {
      at = [...path, e.propertyName];
      atKey = true;
      msg = `server name "${e.propertyName}" must be letters, digits, "_", "." and "-", starting with a letter or digit`;
    }
    const k = `${dotted(at)}|${msg}`;
    if (seen.has(k)) continue;
    seen.add(k);
    r.error(at, msg, atKey);
  }
}
