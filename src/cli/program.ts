import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, interruptSignal, packageVersion, UserError } from './exit.js';
import {
  APPROVE_EXAMPLES,
  AUDIT_EXAMPLES,
  CALIBRATE_EXAMPLES,
  DOCTOR_EXAMPLES,
  GRAPH_EXAMPLES,
  HOOK_CANCEL_EXAMPLES,
  HOOK_EXAMPLES,
  HOOK_START_EXAMPLES,
  HOOK_STOP_EXAMPLES,
  INIT_EXAMPLES,
  LINT_EXAMPLES,
  NEW_EXAMPLES,
  PLAN_EXAMPLES,
  REVIEW_EXAMPLES,
  ROOT_EXAMPLES,
  RUN_EXAMPLES,
  STATUS_EXAMPLES,
} from './help.js';
import { formatOption, jsonAlias, parseCost, parsePositiveInteger, useColor, withCostLine } from './options.js';
import type { RunOptions } from './run-command.js';
import { registerScaleOutCommands } from './scale-out.js';

function buildProgram(output: { exitCode: number }): Command {
  const program = new Command('deepplan')
    .description('Scope agent work into a plan file, have another model attack it, run it one action per iteration, lint it in CI.')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', ROOT_EXAMPLES)
    .exitOverride();

  registerPlanCommands(program, output);
  registerRunCommands(program, output);
  registerReportCommands(program, output);
  registerSetupCommands(program, output);
  registerScaleOutCommands(program, output);
  return program;
}

/** `lint`, `plan` and `new`: checking plans and writing them. */
function registerPlanCommands(program: Command, output: { exitCode: number }): void {
  program
    .command('lint')
    .description("check plan files against the format's rules (deterministic; for CI)")
    .argument('[paths...]', 'plan files, directories or globs (default: plans/**/*.md of the repository)')
    .addOption(formatOption(['text', 'json', 'github', 'sarif'], 'text'))
    .addOption(jsonAlias())
    .option('-q, --quiet', 'report errors only')
    .addHelpText('after', LINT_EXAMPLES)
    .action(async (paths: string[], options: { format: 'text' | 'json' | 'github' | 'sarif'; quiet?: boolean }) => {
      const { runLintCommand } = await import('./lint-command.js');
      output.exitCode = await runLintCommand(paths, { ...options, color: useColor(process.stdout), version: packageVersion() });
    });

  program
    .command('plan')
    .description('turn a request into a plan file through the planning pipeline (headless)')
    .requiredOption('-r, --request <text|@file>', "the ask, in the requester's words, or @path of a file holding it")
    .option('--answers <file>', 'YAML answers to the interview, by question id')
    .option('-y, --yes', 'take the recommended answer of every question')
    .option('-o, --out <path>', 'where to write the plan (default: plans/<id>.md)')
    .option('--force', 'overwrite --out if it exists')
    .addOption(formatOption(['text', 'json'], 'text', "json: the pipeline's events as JSON lines"))
    .addOption(jsonAlias())
    .option('--no-review', 'do not review a plan of 10+ phases or quality bar adversarial after writing it')
    .addOption(new Option('--max-cost <usd>', 'refuse any model call that could take the run past this many US dollars').argParser(parseCost))
    .addHelpText('after', PLAN_EXAMPLES)
    .action(
      async ({
        format,
        ...options
      }: {
        request: string;
        answers?: string;
        yes?: boolean;
        out?: string;
        force?: boolean;
        format: 'text' | 'json';
        review?: boolean;
        maxCost?: number;
      }) => {
        const { runPlanCommand } = await import('./plan-command.js');
        await withCostLine(async () => (output.exitCode = await runPlanCommand({ ...options, json: format === 'json' })));
      },
    );

  program
    .command('new')
    .description('plan interactively on a terminal: the pipeline as a live list, the interview, the skill audit, the budget, the review, then run it')
    .argument('[request]', "the ask, in the requester's words, or @path of a file holding it (asked for when absent)")
    .option('-o, --out <path>', 'where to write the plan (default: plans/<id>.md)')
    .option('--force', 'overwrite --out if it exists')
    .addOption(new Option('--max-cost <usd>', 'refuse any model call that could take the session past this many US dollars').argParser(parseCost))
    .addHelpText('after', NEW_EXAMPLES)
    .action(async (request: string | undefined, options: { out?: string; force?: boolean; maxCost?: number }) => {
      const { runNewCommand } = await import('./new-command.js');
      output.exitCode = await runNewCommand(request, options);
    });
}

/** `review`, `run` and `approve`: a plan from its review through its execution. */
function registerRunCommands(program: Command, output: { exitCode: number }): void {
  program
    .command('review')
    .description('have a model from another provider (or the offline reviewer) critique a plan: numbered, verified findings')
    .argument('<plan>', 'the plan file')
    .option('--reviewer <provider/model>', 'the reviewer model for this run (default: models.reviewer of the config)')
    .addOption(new Option('--rounds <n>', 'review rounds to run, the planner revising in between (a plan has at most 3)').argParser(parseRounds))
    .option('--no-revise', 'review once; do not let the planner revise')
    .addOption(new Option('--max-cost <usd>', 'refuse any model call that could take the run past this many US dollars').argParser(parseCost))
    .addOption(formatOption(['text', 'md', 'json', 'github'], 'text'))
    .addOption(jsonAlias())
    .addHelpText('after', REVIEW_EXAMPLES)
    .action(
      async (plan: string, options: { reviewer?: string; rounds?: number; revise?: boolean; maxCost?: number; format: 'text' | 'md' | 'json' | 'github' }) => {
        const { runReviewCommand } = await import('./review-command.js');
        await withCostLine(async () => (output.exitCode = await runReviewCommand(plan, { ...options, browse: true })));
      },
    );

  program
    .command('run')
    .description('execute a plan: one action per iteration, the plan file as the only memory; prints one signal as the last line')
    .argument('<plan>', 'the plan file (status approved, executing or blocked)')
    .option('--once', 'run one iteration')
    .option('--loop', 'run iterations until a signal other than CONTINUE')
    .addOption(new Option('--max-iterations <n>', 'with --loop: stop after this many iterations of this run').argParser(parsePositiveInteger))
    .addOption(
      new Option('--parallel <n>', 'with --loop: run up to n phases whose dependencies are done at once, each in a working copy (docs/scale-out.md)').argParser(
        parsePositiveInteger,
      ),
    )
    .addOption(
      new Option(
        '--max-cost <usd>',
        "stop (BLOCKED_NEED_HUMAN) before model calls take the plan's whole spend (state.spent_usd, across runs and machines) " +
          'past this many US dollars; default: limits.max_cost',
      ).argParser(parseCost),
    )
    .addOption(new Option('--executor <kind>', 'who carries out skill and model steps').choices(['builtin', 'command']).default('builtin'))
    .option('--no-sandbox', 'run commands without bubblewrap (with your own rights); only where bubblewrap cannot be installed')
    .option('--commit', 'git-commit the plan and the files each iteration changed ("deepplan: P3.2 ok, iteration 17")')
    .addOption(formatOption(['text', 'json'], 'text', "json: the engine's events as JSON lines (the signal is still the last line)"))
    .addOption(jsonAlias())
    .addHelpText('after', RUN_EXAMPLES)
    .action(async (plan: string, { format, ...options }: RunFlags) => {
      const { runRunCommand } = await import('./run-command.js');
      output.exitCode = await runRunCommand(plan, { ...options, json: format === 'json' });
    });

  program
    .command('approve')
    .description(
      'sign a reviewed plan off for execution; or, with a phase, answer BLOCKED_NEED_HUMAN: pass its human gate (or accept it done by hand), as a log row',
    )
    .argument('<plan>', 'the plan file')
    .argument('[phase]', 'the phase id, e.g. P1; without it the plan itself is approved (status: approved)')
    .option('--by <name>', 'who approves, named in the log row (default: user.name of deepplan.config.yaml, else git config user.name)')
    .option('--note <text>', 'why; it goes into the log row and the running learnings')
    .option('--retry', 'do not accept the phase: clear the blockers so the engine tries it again (after you fixed the cause)')
    .addHelpText('after', APPROVE_EXAMPLES)
    .action(async (plan: string, phase: string | undefined, options: { note?: string; retry?: boolean; by?: string }) => {
      const { runApproveCommand } = await import('./approve-command.js');
      output.exitCode = await runApproveCommand(plan, phase, options);
    });
}

/** `audit`, `status`, `calibrate`, `doctor` and `graph`: what a plan, the budgets and the models look like. */
function registerReportCommands(program: Command, output: { exitCode: number }): void {
  program
    .command('audit')
    .description('Required vs Delivered per phase and step, with the evidence from the log and the verify commands: the post-mortem table')
    .argument('<plan>', 'the plan file')
    .addOption(formatOption(['md', 'json'], 'md'))
    .addOption(jsonAlias())
    .option('--no-sandbox', 'run the verify commands without bubblewrap')
    .addHelpText('after', AUDIT_EXAMPLES)
    .action(async (plan: string, options: { format: 'md' | 'json'; sandbox?: boolean }) => {
      const { runAuditCommand } = await import('./audit-command.js');
      output.exitCode = await runAuditCommand(plan, options);
    });

  program
    .command('status')
    .description('where a plan stands: phases done, iterations used of the budget (with a burn-down chart), next action, blockers, last iterations')
    .argument('<plan>', 'the plan file')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(jsonAlias())
    .addHelpText('after', STATUS_EXAMPLES)
    .action(async (plan: string, options: { format: 'text' | 'json' }) => {
      const { runStatusCommand } = await import('./status-command.js');
      output.exitCode = await runStatusCommand(plan, { json: options.format === 'json' });
    });

  program
    .command('calibrate')
    .description("add finished plans (status complete) to calibration/index.yaml and refit each deliverable's budget margin")
    .option('--dry-run', 'print the fit without writing the file')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(jsonAlias())
    .addHelpText('after', CALIBRATE_EXAMPLES)
    .action(async (options: { dryRun?: boolean; format: 'text' | 'json' }) => {
      const { runCalibrateCommand } = await import('./calibrate-command.js');
      output.exitCode = await runCalibrateCommand({ ...(options.dryRun ? { dryRun: true } : {}), json: options.format === 'json' });
    });

  program
    .command('doctor')
    .description("show each role's model, whether its API key and base URL are set; --ping asks each one to answer")
    .option('--ping', 'send each role one minimal structured request and report latency, tokens and cost')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(jsonAlias())
    .addHelpText('after', DOCTOR_EXAMPLES)
    .action(async (options: { ping?: boolean; format: 'text' | 'json' }) => {
      const { runDoctorCommand } = await import('./doctor-command.js');
      output.exitCode = await runDoctorCommand(
        { ...(options.ping ? { ping: true } : {}), json: options.format === 'json', color: useColor(process.stdout) },
        interruptSignal(),
      );
    });

  program
    .command('graph')
    .description("print a plan's phases as a Mermaid flowchart (dependencies, gates, skills, status colours) that GitHub renders")
    .argument('<plan>', 'the plan file')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['mermaid', 'md']).default('mermaid'))
    .addHelpText('after', GRAPH_EXAMPLES)
    .action(async (plan: string, options: { format: 'mermaid' | 'md' }) => {
      const { runGraphCommand } = await import('./graph-command.js');
      output.exitCode = await runGraphCommand(plan, options);
    });
}

/** `init` and `hook start | stop | cancel`: deepplan in a repository, and its loop in a Claude Code session. */
function registerSetupCommands(program: Command, output: { exitCode: number }): void {
  program
    .command('init')
    .description('set deepplan up in this repository: deepplan.config.yaml, plans/ with an example, .gitignore, the CI workflow')
    .option('--force', 'overwrite files that exist')
    .option('--workflow <kind>', 'pr (default): lint and review plans on pull requests; matrix: run ready phases as parallel jobs (docs/scale-out.md)')
    .addHelpText('after', INIT_EXAMPLES)
    .action(async (options: { force?: boolean; workflow?: string }) => {
      const { runInitCommand } = await import('./init-command.js');
      output.exitCode = await runInitCommand(options);
    });

  const hook = program
    .command('hook')
    .description('the automated loop in a Claude Code session: start it for a plan, the Stop hook, cancel it')
    .addHelpText('after', HOOK_EXAMPLES);
  const timeLimit = () =>
    new Option('--time-limit <seconds>', "how long the hook may run the plan's command steps before it gives the turn back")
      .argParser(parsePositiveInteger)
      .default(300);
  hook
    .command('start')
    .description('start the loop for a plan in this Claude Code session: runs the command steps up to the first model step and prints its prompt')
    .argument('<plan>', 'the plan file (status approved, executing or blocked)')
    .addOption(new Option('--max-iterations <n>', 'end the loop after this many iterations (log rows) of it').argParser(parsePositiveInteger))
    .option('--session <id>', 'the Claude Code session id (default: $CLAUDE_CODE_SESSION_ID, else the first session whose transcript shows the loop token)')
    .option('--no-sandbox', "run the plan's commands without bubblewrap (with your own rights); only where bubblewrap cannot be installed")
    .addOption(timeLimit())
    .addHelpText('after', HOOK_START_EXAMPLES)
    .action(async (plan: string, options: { maxIterations?: number; session?: string; sandbox?: boolean; timeLimit?: number }) => {
      const { runHookStartCommand } = await import('./hook-command.js');
      output.exitCode = await runHookStartCommand(plan, options);
    });
  hook
    .command('stop')
    .description(
      "Claude Code Stop hook: reads the hook's JSON on standard input; records the session's answer and blocks the stop " +
        "with the next iteration's prompt while the plan says CONTINUE",
    )
    .option('--plan <path>', "only this plan's loop; with no loop running, the first session that stops starts it (default: the loop in .deepplan/loop.json)")
    .addOption(new Option('--max-iterations <n>', 'with --plan: end a loop it starts after this many iterations').argParser(parsePositiveInteger))
    .option('--no-sandbox', "run the plan's commands without bubblewrap")
    .addOption(timeLimit())
    .addHelpText('after', HOOK_STOP_EXAMPLES)
    .action(async (options: { plan?: string; maxIterations?: number; sandbox?: boolean; timeLimit?: number }) => {
      const { runHookStopCommand } = await import('./hook-stop-command.js');
      output.exitCode = await runHookStopCommand(options);
    });
  hook
    .command('cancel')
    .description('end the loop: remove .deepplan/loop.json (the plan stays as the engine last wrote it)')
    .addHelpText('after', HOOK_CANCEL_EXAMPLES)
    .action(async () => {
      const { runHookCancelCommand } = await import('./hook-command.js');
      output.exitCode = await runHookCancelCommand();
    });
}

/** The options of `run`, as commander hands them over: `--format` in place of run-command's `json`. */
type RunFlags = Omit<RunOptions, 'json'> & { format: 'text' | 'json' };

/** `review --rounds`: a plan has at most 3 review rounds. */
function parseRounds(value: string): number {
  const rounds = Number(value);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 3) throw new InvalidArgumentError('give 1, 2 or 3');
  return rounds;
}

/** A program built before its command line is known, used by the next `main` (see prebuildProgram). */
let prebuilt: { program: Command; output: { exitCode: number } } | undefined;

/** Commander's help option and help command, which it creates on first use (its own methods, not in its types). */
interface LazyHelp {
  _getHelpOption(): unknown;
  _getHelpCommand(): unknown;
}

/**
 * Builds the program for the next call of `main`, with every part commander would otherwise create while it parses
 * (the help options and help commands). The start-up snapshot calls this after its warm-up, so a restored process
 * parses its command line with a program already in the heap instead of building one (about 1 ms there: commander's
 * Option constructor runs a Unicode regular expression, and a snapshot keeps no compiled expression).
 * Nothing here reads the environment, the working folder or the terminal; commander reads those when it runs.
 */
export function prebuildProgram(): void {
  const output = { exitCode: EXIT.ok as number };
  const program = buildProgram(output);
  const commands: Command[] = [program];
  for (let index = 0; index < commands.length; index++) {
    const command = commands[index] as Command;
    (command as unknown as LazyHelp)._getHelpOption();
    (command as unknown as LazyHelp)._getHelpCommand();
    commands.push(...command.commands);
  }
  prebuilt = { program, output };
}

export async function main(argv: string[]): Promise<number> {
  // A program parses one command line: a prebuilt one serves the first call only.
  const { program, output } =
    prebuilt ??
    (() => {
      const fresh = { exitCode: EXIT.ok as number };
      return { program: buildProgram(fresh), output: fresh };
    })();
  prebuilt = undefined;
  try {
    await program.parseAsync(argv, { from: 'user' });
    return output.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; everything else commander reports is a usage error.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UserError) {
      process.stderr.write(`deepplan: ${error.message}\n`);
      return error.exitCode;
    }
    // A broken deepplan.config.yaml is the user's to fix, whichever command read it (by name: importing the config
    // module here would load it for --help too).
    if (error instanceof Error && error.name === 'ConfigError') {
      process.stderr.write(`deepplan: ${error.message}\n`);
      return EXIT.usage;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`deepplan: ${message}\n`);
    if (process.env['DEEPPLAN_DEBUG'] && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return EXIT.failed;
  }
}
