#!/usr/bin/env node
/**
 * The ftpsync command line: the only place that reads argv, prints and sets process.exitCode.
 * Exit codes: 0 ok / nothing to do, 1 error, 2 changes present (plan --detailed-exitcode).
 */
import { Command, CommanderError } from 'commander';
import { isFtpsyncError } from '../errors.js';
import { packageName, packageVersion } from '../paths.js';
import { registerApply } from './commands/apply.js';
import { registerInit } from './commands/init.js';
import { registerPlan } from './commands/plan.js';
import { registerProbe } from './commands/probe.js';
import { registerRollback } from './commands/rollback.js';
import { registerValidate } from './commands/validate.js';
import { disableColor, err, style } from './output.js';

const COMMANDS: Array<(program: Command) => void> = [registerValidate, registerPlan, registerApply, registerRollback, registerProbe, registerInit];

function buildProgram(): Command {
  const program = new Command();
  program
    .name('ftpsync')
    .description(
      'Sync directory trees over FTP/FTPS without getting your IP blocked: ftpsync paces new connections ' +
        "inside each server's firewall budget (firewalls like CSF count TIME_WAIT sockets too) and lists over the control connection.",
    )
    .version(`ftpsync ${packageVersion()} (npm package ${packageName()}, Node ${process.version})`, '-V, --version', "print the version and Node's")
    .option('--no-color', 'no colours (NO_COLOR is respected too)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .hook('preAction', (cmd) => {
      if (cmd.opts().color === false) disableColor();
    })
    .addHelpText(
      'after',
      '\nExit codes: 0 ok or nothing to do, 1 error, 2 changes planned (plan --detailed-exitcode).\n' +
        'Start with `ftpsync init`, then `ftpsync validate`, `ftpsync plan`, `ftpsync apply`.',
    );
  for (const register of COMMANDS) register(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were printed by commander.
      return e.exitCode === 0 ? 0 : 1;
    }
    if (isFtpsyncError(e)) {
      err(style('red', `error: ${e.message}`, process.stderr));
      if (e.hint) err(`hint: ${e.hint}`);
      return 1;
    }
    err(style('red', `internal error: ${e instanceof Error ? e.message : String(e)}`, process.stderr));
    if (process.env.FTPSYNC_DEBUG && e instanceof Error && e.stack) err(e.stack);
    return 1;
  }
}

// `ftpsync --help | head`, `ftpsync plan | less` quit early: a reader that went away is not an
// error, and an apply keeps going (its journal and summary do not depend on the terminal).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  () => {
    process.exitCode = 1;
  },
);
