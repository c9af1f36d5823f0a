/**
 * The overrides of basic-ftp's internals (src/remote/basic-ftp-internals.ts) hold only as long as
 * the installed basic-ftp still has what they replace: these tests fail when an upgrade moves it.
 * The functional ones run against the demo FTP server on loopback.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, FTPContext } from 'basic-ftp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DemoFtpServer } from '../../src/demo/ftp-server.js';
import {
  BASIC_FTP_CHECKED,
  detachControlReader,
  listRawText,
  redactPass,
  setControlSocketFactory,
  traceControl,
  withoutTaskStacks,
} from '../../src/remote/basic-ftp-internals.js';

const PASV: [number, number] = [31340, 31359];
let base: string;
let server: DemoFtpServer;
let port: number;

beforeAll(async () => {
  base = mkdtempSync(path.join(tmpdir(), 'ftpsync-internals-'));
  writeFileSync(path.join(base, 'listed.txt'), 'x');
  server = new DemoFtpServer({ port: 0, user: 'u', password: 'pw', root: base, passivePorts: PASV });
  port = await server.listen();
});

afterAll(async () => {
  await server.close();
  rmSync(base, { recursive: true, force: true });
});

describe('basic-ftp internals ftpsync relies on', () => {
  it('the installed basic-ftp is the version every override was checked against', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../node_modules/basic-ftp/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(pkg.version).toBe(BASIC_FTP_CHECKED);
  });

  it('still has the members the overrides replace or read', () => {
    const client = new Client();
    const ftp = client.ftp as unknown as Record<string, unknown>;
    expect(typeof ftp._newSocket).toBe('function');
    expect(typeof client.ftp.handle).toBe('function');
    expect(typeof ftp._onControlSocketData).toBe('function');
    expect('tlsOptions' in ftp && 'tlsSessionStore' in ftp).toBe(true);
    expect(typeof client.prepareTransfer).toBe('function');
    expect(typeof client.parseList).toBe('function');
    expect(Array.isArray(client.availableListCommands)).toBe(true);
    // The reason for withoutTaskStacks: handle() captures a stack per task.
    expect(FTPContext.prototype.handle.toString()).toContain('new Error().stack');
    // --verbose: send() and the control reader log through log(), which checks verbose.
    expect(FTPContext.prototype.send.toString()).toContain('this.log(`> ${description}`)');
    expect(FTPContext.prototype.log.toString()).toContain('this.verbose');
    // The control socket comes from _newSocket on every (re)connect.
    expect(FTPContext.prototype.reset.toString()).toContain('this._newSocket()');
    client.close();
  });

  it("traceControl sees the login with PASS masked, and the replies, not a listing's text", async () => {
    const client = new Client(5000);
    const lines: string[] = [];
    traceControl(client.ftp, (l) => lines.push(l));
    await client.access({ host: '127.0.0.1', port, user: 'u', password: 'pw' });
    await client.list();
    client.close();
    expect(lines).toContain('> USER u');
    expect(lines).toContain('> PASS ****');
    expect(lines.some((l) => l.startsWith('< 230'))).toBe(true);
    expect(lines.some((l) => l.includes('listed.txt'))).toBe(false);
    expect(lines.join('\n')).not.toContain('pw\n');
    expect(redactPass('> PASS hunter2')).toBe('> PASS ****');
    expect(redactPass('> pass hunter2')).toBe('> pass ****');
    expect(redactPass('> PASV')).toBe('> PASV');
  });

  it('a replaced control socket factory is the one connect uses', async () => {
    const client = new Client(5000);
    let made = 0;
    setControlSocketFactory(client, () => {
      made++;
      return new net.Socket();
    });
    await client.access({ host: '127.0.0.1', port, user: 'u', password: 'pw' });
    expect(made).toBe(1);
    client.close();
  });

  it('listRawText returns the listing text of exactly the command given', async () => {
    const client = new Client(5000);
    await client.access({ host: '127.0.0.1', port, user: 'u', password: 'pw' });
    const text = await listRawText(client, 'LIST');
    expect(text).toMatch(/listed\.txt/);
    expect(client.availableListCommands).toEqual(['LIST']);
    client.close();
  });

  it('withoutTaskStacks sends commands with stack capture off and restores the limit', async () => {
    const client = new Client(5000);
    await client.access({ host: '127.0.0.1', port, user: 'u', password: 'pw' });
    const inner = client.ftp.handle.bind(client.ftp);
    let stackLines = -1;
    client.ftp.handle = ((command, handler) => {
      stackLines = (new Error().stack ?? '').split('\n').length;
      return inner(command, handler);
    }) as typeof client.ftp.handle;
    const limit = Error.stackTraceLimit;
    withoutTaskStacks(client.ftp);
    await client.send('NOOP');
    expect(stackLines).toBe(1);
    expect(Error.stackTraceLimit).toBe(limit);
    client.close();
  });

  it('detachControlReader takes the control reader off and puts it back', async () => {
    const client = new Client(5000);
    await client.access({ host: '127.0.0.1', port, user: 'u', password: 'pw' });
    const socket = client.ftp.socket;
    const before = socket.listenerCount('data');
    expect(before).toBeGreaterThan(0);
    const restore = detachControlReader(socket);
    expect(socket.listenerCount('data')).toBe(0);
    restore();
    expect(socket.listenerCount('data')).toBe(before);
    // basic-ftp reads replies again.
    expect((await client.send('NOOP')).code).toBe(200);
    client.close();
  });
});
