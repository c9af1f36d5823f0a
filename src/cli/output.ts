/**
 * All terminal output goes through here: colour only on a TTY without NO_COLOR, plain timestamped
 * log lines, and every line passed through redaction of the secrets the manifest loaded.
 */
import { redact } from '../manifest/secret.js';

const secrets = new Set<string>();

/** Register a secret value so no output line can ever contain it. */
export function registerSecret(value: string): void {
  if (value) secrets.add(value);
}

let colorDisabled = false;
export function disableColor(): void {
  colorDisabled = true;
}
function useColor(stream: NodeJS.WriteStream): boolean {
  return !colorDisabled && !process.env.NO_COLOR && Boolean(stream.isTTY) && process.env.TERM !== 'dumb';
}

const CODES = { red: 31, yellow: 33, green: 32, cyan: 36, dim: 2, bold: 1 } as const;
export type Style = keyof typeof CODES;
export function style(s: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? `\u001b[${CODES[s]}m${text}\u001b[0m` : text;
}

/** A text with every registered secret redacted (for output that does not go through out/err). */
export function clean(text: string): string {
  return redact(text, secrets);
}

export function out(text: string): void {
  process.stdout.write(redact(text, secrets) + (text.endsWith('\n') ? '' : '\n'));
}
export function err(text: string): void {
  process.stderr.write(redact(text, secrets) + (text.endsWith('\n') ? '' : '\n'));
}

/** A plain progress line for logs: "2026-11-24T10:00:00Z message". */
export function logLine(text: string): void {
  out(`${new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')} ${text}`);
}
