import { inspect } from 'node:util';
import type { Secret } from './types.js';

const REDACTED = '[redacted]';

/** A secret whose every printable form is "[redacted]"; only reveal() gives the value. */
class SecretValue implements Secret {
  readonly #value: string;
  constructor(
    value: string,
    readonly source: string,
  ) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return REDACTED;
  }
  toJSON(): string {
    return REDACTED;
  }
  [inspect.custom](): string {
    return REDACTED;
  }
}

export function makeSecret(value: string, source: string): Secret {
  return new SecretValue(value, source);
}

/** Replace every occurrence of the given secrets in text: the last line of defence for output. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join(REDACTED);
  return out;
}
