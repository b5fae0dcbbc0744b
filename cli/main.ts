#!/usr/bin/env node
/**
 * `loom`: one command line for the operator, the node agent, the simulators and the demo.
 * Each subcommand declares its settings once (see settings/settings.ts) and loads its implementation
 * lazily, so `loom --help` is instant and one part's dependencies never slow another.
 */
import { Command, CommanderError } from 'commander';
import { addSettingOptions, settingsFor, type SettingSpec, type SettingsValues } from '../settings/settings.js';
import { describeError, isInputError } from '../input/input-error.js';
import type { LogFormat, LogLevel } from '../log/log-settings.js';
import { commandSettingSpecs } from './command-settings.js';
import { packageVersion } from './version.js';

type Handler = (settings: SettingsValues) => Promise<number>;

/** Exit code for bad flags, environment or config file. */
export const EXIT_USAGE = 2;

interface Subcommand {
  name: string;
  summary: string;
  specs: readonly SettingSpec[];
  /** Keys its settings file may also hold (another command's), accepted and ignored. */
  fileAlsoAccepts?: readonly SettingSpec[];
  load: () => Promise<Handler>;
}

const subcommands: Subcommand[] = [
  {
    name: 'demo',
    summary: 'run the embedded demo: a simulated mixed cluster with the real operator and agents (npm start)',
    specs: commandSettingSpecs.demo,
    load: async () => (await import('../demo/command.js')).runDemoCommand,
  },
  {
    name: 'operator',
    summary: 'run the cluster-level operator: the batch-resource ledger between Kubernetes and YARN',
    specs: commandSettingSpecs.operator,
    load: async () => (await import('../operator/command.js')).runOperatorCommand,
  },
  {
    name: 'agent',
    summary: 'run the node agent: YARN container metrics, CPU suppression and eviction',
    specs: commandSettingSpecs.agent,
    load: async () => (await import('../agent/command.js')).runAgentCommand,
  },
  {
    name: 'sim',
    summary: 'start the simulators alone (Kubernetes API, YARN RM/NMs, nodes) and print one JSON line',
    specs: commandSettingSpecs.sim,
    load: async () => (await import('../sim/command.js')).runSimCommand,
  },
  {
    name: 'status',
    summary: 'per-node ledger table from a live cluster',
    specs: commandSettingSpecs.status,
    // Run in the operator's pod, it reads the operator's own file (LOOM_CONFIG): same policy, same RMs.
    fileAlsoAccepts: commandSettingSpecs.operator,
    load: async () => (await import('../operator/status-command.js')).runStatusCommand,
  },
  {
    name: 'release',
    summary: 'hand every node back: shrink NodeManagers to what YARN uses (no kills), claims to match; --remove-claims',
    specs: commandSettingSpecs.release,
    load: async () => (await import('../operator/release-command.js')).runReleaseCommand,
  },
];

/** Help lines never run past this many columns, whatever the terminal (commander wraps descriptions to fit). */
export const HELP_COLUMNS = 100;
const helpLayout = { helpWidth: HELP_COLUMNS };

export function buildProgram(onRun: (sub: Subcommand, opts: Record<string, unknown>) => void): Command {
  const program = new Command('loom')
    .description('Loom: hybrid YARN–Kubernetes co-location (operator, node agent, simulators)')
    .version(packageVersion(), '-V, --version', 'print the version of Loom')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp(helpLayout)
    .exitOverride();
  for (const sub of subcommands) {
    const cmd = program.command(sub.name).description(sub.summary).configureHelp(helpLayout).exitOverride();
    cmd.option('--config <file>', 'YAML settings file (keys as in docs/configuration.md); env LOOM_CONFIG');
    addSettingOptions(cmd, sub.specs);
    cmd.action((opts: Record<string, unknown>) => onRun(sub, opts));
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  let chosen: { sub: Subcommand; opts: Record<string, unknown> } | undefined;
  const program = buildProgram((sub, opts) => { chosen = { sub, opts }; });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    throw err;
  }
  if (!chosen) {
    program.outputHelp();
    return argv.length === 0 ? 0 : EXIT_USAGE;
  }
  const name = chosen.sub.name;
  try {
    const settings = settingsFor(chosen.sub.specs, chosen.opts, process.env, chosen.sub.fileAlsoAccepts);
    const { configureLogging } = await import('../log/logger.js');
    configureLogging({ level: settings.logLevel as LogLevel | undefined, format: settings.logFormat as LogFormat | undefined });
    const handler = await chosen.sub.load();
    return await handler(settings);
  } catch (err) {
    // One line whatever failed: bad input (flags, environment, files) exits 2, anything else 1.
    process.stderr.write(`loom ${name}: ${describeError(err)}\n`);
    return isInputError(err) ? EXIT_USAGE : 1;
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
const invokedAsBin = process.argv[1] !== undefined && /(^|\/)loom$/.test(process.argv[1]);
if (invokedDirectly || invokedAsBin) {
  main(process.argv.slice(2)).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      process.stderr.write(`loom: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
