import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { EXIT, interruptSignal, packageVersion, UserError } from './exit.js';
import { registerScaleOutCommands } from './scale-out.js';



function useColor(stream: NodeJS.WriteStream): boolean {
  if (process.env['NO_COLOR']) return false;
  if (process.env['FORCE_COLOR'] && process.env['FORCE_COLOR'] !== '0') return true;
  return stream.isTTY === true;
}


const LINT_EXAMPLES = `
Examples:
  $ deepplan lint                              lint plans/**/*.md of this repository
  $ deepplan lint plans/modop-outreach.md      one plan
  $ deepplan lint 'plans/**/*.md' --format github   annotations for a GitHub Actions job
  $ deepplan lint plans --format sarif > deepplan.sarif

Rules and their severities: docs/rules.md; set them in deepplan.config.yaml (rules: {skill-unknown: off})
or per file with <!-- deepplan-disable rule-id -->.
Exit status: 0 no errors (warnings allowed), 1 at least one error, 2 bad arguments, a path that matches no file, or an
invalid deepplan.config.yaml.`;

function buildProgram(output: { exitCode: number }): Command {
  const program = new Command('deepplan')
    .description('Scope agent work into a plan file, have another model attack it, run it one action per iteration, lint it in CI.')
    .version(packageVersion(), '-v, --version')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', ROOT_EXAMPLES)
    .exitOverride();

  program
    .command('lint')
    .description('check plan files against the format\'s rules (deterministic; for CI)')
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
    .requiredOption('-r, --request <text|@file>', 'the ask, in the requester\'s words, or @path of a file holding it')
    .option('--answers <file>', 'YAML answers to the interview, by question id')
    .option('-y, --yes', 'take the recommended answer of every question')
    .option('-o, --out <path>', 'where to write the plan (default: plans/<id>.md)')
    .option('--force', 'overwrite --out if it exists')
    .addOption(formatOption(['text', 'json'], 'text', 'json: the pipeline\'s events as JSON lines'))
    .addOption(jsonAlias())
    .option('--no-review', 'do not review a plan of 10+ phases or quality bar adversarial after writing it')
    .addOption(new Option('--max-cost <usd>', 'refuse any model call that could take the run past this many US dollars').argParser(parseCost))
    .addHelpText('after', PLAN_EXAMPLES)
    .action(async ({ format, ...options }: { request: string; answers?: string; yes?: boolean; out?: string; force?: boolean; format: 'text' | 'json'; review?: boolean; maxCost?: number }) => {
      const { runPlanCommand } = await import('./plan-command.js');
      await withCostLine(async () => (output.exitCode = await runPlanCommand({ ...options, json: format === 'json' })));
    });

  program
    .command('new')
    .description('plan interactively on a terminal: the pipeline as a live list, the interview, the skill audit, the budget, the review, then run it')
    .argument('[request]', 'the ask, in the requester\'s words, or @path of a file holding it (asked for when absent)')
    .option('-o, --out <path>', 'where to write the plan (default: plans/<id>.md)')
    .option('--force', 'overwrite --out if it exists')
    .addOption(new Option('--max-cost <usd>', 'refuse any model call that could take the session past this many US dollars').argParser(parseCost))
    .addHelpText('after', NEW_EXAMPLES)
    .action(async (request: string | undefined, options: { out?: string; force?: boolean; maxCost?: number }) => {
      const { runNewCommand } = await import('./new-command.js');
      output.exitCode = await runNewCommand(request, options);
    });

  program
    .command('review')
    .description('have a model from another provider (or the offline reviewer) critique a plan: numbered, verified findings')
    .argument('<plan>', 'the plan file')
    .option('--reviewer <provider/model>', 'the reviewer model for this run (default: models.reviewer of the config)')
    .addOption(new Option('--rounds <n>', 'review rounds to run, the planner revising in between (a plan has at most 3)').argParser((value) => {
      const rounds = Number(value);
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 3) throw new InvalidArgumentError('give 1, 2 or 3');
      return rounds;
    }))
    .option('--no-revise', 'review once; do not let the planner revise')
    .addOption(new Option('--max-cost <usd>', 'refuse any model call that could take the run past this many US dollars').argParser(parseCost))
    .addOption(formatOption(['text', 'md', 'json', 'github'], 'text'))
    .addOption(jsonAlias())
    .addHelpText('after', REVIEW_EXAMPLES)
    .action(async (plan: string, options: { reviewer?: string; rounds?: number; revise?: boolean; maxCost?: number; format: 'text' | 'md' | 'json' | 'github' }) => {
      const { runReviewCommand } = await import('./review-command.js');
      await withCostLine(async () => (output.exitCode = await runReviewCommand(plan, { ...options, browse: true })));
    });

  program
    .command('run')
    .description('execute a plan: one action per iteration, the plan file as the only memory; prints one signal as the last line')
    .argument('<plan>', 'the plan file (status approved, executing or blocked)')
    .option('--once', 'run one iteration')
    .option('--loop', 'run iterations until a signal other than CONTINUE')
    .addOption(new Option('--max-iterations <n>', 'with --loop: stop after this many iterations of this run').argParser(parsePositiveInteger))
    .addOption(new Option('--max-cost <usd>', "stop (BLOCKED_NEED_HUMAN) before model calls take the plan's whole spend (state.spent_usd, across runs and machines) past this many US dollars; default: limits.max_cost").argParser(parseCost))
    .addOption(new Option('--executor <kind>', 'who carries out skill and model steps').choices(['builtin', 'command']).default('builtin'))
    .option('--no-sandbox', 'run commands without bubblewrap (with your own rights); only where bubblewrap cannot be installed')
    .option('--commit', 'git-commit the plan and the files each iteration changed ("deepplan: P3.2 ok, iteration 17")')
    .addOption(formatOption(['text', 'json'], 'text', 'json: the engine\'s events as JSON lines (the signal is still the last line)'))
    .addOption(jsonAlias())
    .addHelpText('after', RUN_EXAMPLES)
    .action(async (plan: string, { format, ...options }: { once?: boolean; loop?: boolean; maxIterations?: number; maxCost?: number; executor: 'builtin' | 'command'; sandbox?: boolean; commit?: boolean; format: 'text' | 'json' }) => {
      const { runRunCommand } = await import('./run-command.js');
      output.exitCode = await runRunCommand(plan, { ...options, json: format === 'json' });
    });

  program
    .command('approve')
    .description('sign a reviewed plan off for execution; or, with a phase, answer BLOCKED_NEED_HUMAN: pass its human gate (or accept it done by hand), as a log row')
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

  program
    .command('audit')
    .description('Required vs Delivered per phase and step, with the evidence from the log and the verify commands: the post-mortem table')
    .argument('<plan>', 'the plan file')
    .addOption(formatOption(['md', 'json'], 'md'))
    .addOption(jsonAlias())
    .option('--no-sandbox', 'run the verify commands without bubblewrap')
    .addHelpText('after', '\nExamples:\n  $ deepplan audit plans/modop-outreach.md > audit.md\n  $ deepplan audit plans/modop-outreach.md --format json | jq \'.phases[] | select(.delivered == false)\'\n\nExit status: 0 every phase delivered, 1 something required is not delivered (or not a readable plan), 2 bad arguments or\nno such file.')
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
    .description('add finished plans (status complete) to calibration/index.yaml and refit each deliverable\'s budget margin')
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
    .description('show each role\'s model, whether its API key and base URL are set; --ping asks each one to answer')
    .option('--ping', 'send each role one minimal structured request and report latency, tokens and cost')
    .addOption(formatOption(['text', 'json'], 'text'))
    .addOption(jsonAlias())
    .addHelpText('after', DOCTOR_EXAMPLES)
    .action(async (options: { ping?: boolean; format: 'text' | 'json' }) => {
      const { runDoctorCommand } = await import('./doctor-command.js');
      output.exitCode = await runDoctorCommand({ ...(options.ping ? { ping: true } : {}), json: options.format === 'json', color: useColor(process.stdout) }, interruptSignal());
    });

  program
    .command('graph')
    .description('print a plan\'s phases as a Mermaid flowchart (dependencies, gates, skills, status colours) that GitHub renders')
    .argument('<plan>', 'the plan file')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['mermaid', 'md']).default('mermaid'))
    .addHelpText('after', GRAPH_EXAMPLES)
    .action(async (plan: string, options: { format: 'mermaid' | 'md' }) => {
      const { runGraphCommand } = await import('./graph-command.js');
      output.exitCode = await runGraphCommand(plan, options);
    });

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
  const timeLimit = () => new Option('--time-limit <seconds>', 'how long the hook may run the plan\'s command steps before it gives the turn back').argParser(parsePositiveInteger).default(300);
  hook
    .command('start')
    .description('start the loop for a plan in this Claude Code session: runs the command steps up to the first model step and prints its prompt')
    .argument('<plan>', 'the plan file (status approved, executing or blocked)')
    .addOption(new Option('--max-iterations <n>', 'end the loop after this many iterations (log rows) of it').argParser(parsePositiveInteger))
    .option('--session <id>', 'the Claude Code session id (default: $CLAUDE_CODE_SESSION_ID, else the first session whose transcript shows the loop token)')
    .option('--no-sandbox', 'run the plan\'s commands without bubblewrap (with your own rights); only where bubblewrap cannot be installed')
    .addOption(timeLimit())
    .addHelpText('after', HOOK_START_EXAMPLES)
    .action(async (plan: string, options: { maxIterations?: number; session?: string; sandbox?: boolean; timeLimit?: number }) => {
      const { runHookStartCommand } = await import('./hook-command.js');
      output.exitCode = await runHookStartCommand(plan, options);
    });
  hook
    .command('stop')
    .description('Claude Code Stop hook: reads the hook\'s JSON on standard input; records the session\'s answer and blocks the stop with the next iteration\'s prompt while the plan says CONTINUE')
    .option('--plan <path>', 'only this plan\'s loop; with no loop running, the first session that stops starts it (default: the loop in .deepplan/loop.json)')
    .addOption(new Option('--max-iterations <n>', 'with --plan: end a loop it starts after this many iterations').argParser(parsePositiveInteger))
    .option('--no-sandbox', 'run the plan\'s commands without bubblewrap')
    .addOption(timeLimit())
    .addHelpText('after', HOOK_STOP_EXAMPLES)
    .action(async (options: { plan?: string; maxIterations?: number; sandbox?: boolean; timeLimit?: number }) => {
      const { runHookStopCommand } = await import('./hook-command.js');
      output.exitCode = await runHookStopCommand(options);
    });
  hook
    .command('cancel')
    .description('end the loop: remove .deepplan/loop.json (the plan stays as the engine last wrote it)')
    .addHelpText('after', '\nExamples:\n  $ deepplan hook cancel\n\nExit status: 0 the loop ended (or none was running), 1 .deepplan/loop.json cannot be removed, 2 bad arguments.')
    .action(async () => {
      const { runHookCancelCommand } = await import('./hook-command.js');
      output.exitCode = await runHookCancelCommand();
    });

  registerScaleOutCommands(program, output);
  return program;
}

const ROOT_EXAMPLES = `
Examples (the whole flow; each command's --help has more):
  $ deepplan init                                    set up this repository (config, plans/, CI workflow)
  $ deepplan new "Do an outreach for Mod Op"         plan on a terminal (deepplan plan --request "…" in scripts)
  $ deepplan review plans/outreach-for-mod.md        another provider's model attacks the plan
  $ deepplan approve plans/outreach-for-mod.md       a person signs it off
  $ deepplan run plans/outreach-for-mod.md --loop    one action per iteration until a signal other than CONTINUE
  $ deepplan lint --format github                    the same rules in CI

Without API keys every model role runs offline. Docs: README.md and docs/ of the deepplan repository.
Commands with machine output take --format json (--json is the same).

Exit status, the same for every command (each command's --help says what its own codes mean):
  0    done: written, no lint errors, APPROVED, delivered; for run and hook start CONTINUE or TASK_COMPLETE
  1    the command ran and the answer is no, or it failed: lint errors, REVISE, not delivered, a run or pipeline failure
  2    usage: bad arguments, no such file, a plan argument that is no plan file (a folder), an invalid
       deepplan.config.yaml (an unknown key included), no terminal for deepplan new
  3    a person is needed: BLOCKED_NEED_HUMAN (run, hook start), interview questions to answer (plan)
  130  interrupted (Ctrl-C)`;

const NEW_EXAMPLES = `
Examples:
  $ deepplan new                                             type the request (Enter submits; @path reads a file)
  $ deepplan new "Do an outreach for Mod Op" --out plans/modop.md
  $ deepplan new @request.md --max-cost 2.00
  $ deepplan new @.deepplan/drafts/<stamp>                   resume a draft Ctrl-C left (@.deepplan/drafts: the newest)

The screens: the planning phases as a live list (spinner, elapsed time, one-line result each); the interview one
question at a time (the recommended answer preselected: Enter accepts it, ↑/↓ choose, typing gives a free answer);
the skill audit (↑/↓ select, space moves a skill between mapped and excluded, Enter confirms); the sizing and
budget table; the review rounds of a plan of 10+ phases or quality bar adversarial (↑/↓ select, Enter opens a
finding's quote and fix, Enter on "continue" or Esc goes on); then the plan's path and the choice to run it now
(one iteration, or the loop in the run dashboard; it is approved first) or later (the default).
Ctrl-C leaves a consistent draft: before the plan exists, the request and the answers so far are saved under
.deepplan/drafts/ (deepplan new @.deepplan/drafts/<stamp> resumes it on a terminal; the deepplan plan command printed
continues it headless); after, the written plan (exit 130).
The answers file of deepplan plan takes the same skill choices: skills: {map: [name], exclude: [name]}.
Needs a terminal: piped or with CI set it exits 2 (use deepplan plan in scripts and CI).
Exit status: 0 the plan is written (and run, if you chose to), 1 the pipeline or the run failed, 2 bad arguments or no
terminal, 3 the interview ended with questions open or the run stopped for a person, 130 interrupted.`;

const GRAPH_EXAMPLES = `
Examples:
  $ deepplan graph plans/modop-outreach.md                  the bare flowchart (mermaid-cli, an editor preview)
  $ deepplan graph plans/modop-outreach.md --format md > graph.md
      a \`\`\`mermaid block: GitHub renders it as a picture in a README, an issue or a pull-request comment

Arrows: Depends on (dotted: no Depends on, the phase follows the one above). Hexagon: human gate; double-edged
box: review gate. Colours: green done, blue active, red blocked, grey dashed pending.
Exit status: 0 printed, 1 not a readable plan (or no phases), 2 bad arguments or no such file.`;

const INIT_EXAMPLES = `
Examples:
  $ deepplan init              write what is missing; existing files are skipped and listed
  $ deepplan init --force      overwrite deepplan.config.yaml, plans/example.md and the workflow

Writes, at the repository root: deepplan.config.yaml (every key, commented), plans/example.md (a plan that lints
clean), .github/workflows/deepplan.yml (lint and review plans on pull requests; docs/ci.md) and .deepplan/ in
.gitignore (appended once, never duplicated). One line per file: written, skipped (exists) or updated.
Outside a git repository it writes into the current folder and says so.
Exit status: 0 every file written, updated or skipped, 1 a file cannot be written, 2 bad arguments.`;

const HOOK_EXAMPLES = `
Examples:
  $ deepplan hook start plans/modop-outreach.md --max-iterations 20   in Claude Code: /deepplan:loop plans/modop-outreach.md
  $ echo "$STOP_HOOK_JSON" | deepplan hook stop                         what the plugin's Stop hook runs
  $ deepplan hook cancel

Setup, the session guard and the budget: docs/claude-code.md.
Exit status: 2 for bad arguments; each subcommand's --help gives its own (deepplan hook stop always exits 0).`;

const HOOK_START_EXAMPLES = `
Examples:
  $ deepplan hook start plans/modop-outreach.md
  $ deepplan hook start plans/x.md --max-iterations 10 --session "$CLAUDE_CODE_SESSION_ID"

Prints the first model step's prompt (the session carries it out and ends its turn; the Stop hook records it).
Under Claude Code (CLAUDECODE=1, its /deepplan:loop) it always exits 0 and prints the reason instead: Claude Code
treats a non-zero exit as a failed command, and the session would never see why.
Exit status: 0 the loop runs (or the plan is TASK_COMPLETE; always under Claude Code), 3 BLOCKED_NEED_HUMAN, 1 the
plan cannot run, 2 bad arguments, no such file or a folder.`;

const HOOK_STOP_EXAMPLES = `
Examples:
  $ deepplan hook stop < stop-input.json
  $ deepplan hook stop --plan plans/modop-outreach.md --max-iterations 20 < stop-input.json

Prints {"hookSpecificOutput":{"hookEventName":"Stop","additionalContext":"<next step>"},"systemMessage":"..."}
while the plan says CONTINUE (the session carries the step out). When the loop ends (TASK_COMPLETE,
BLOCKED_NEED_HUMAN, the budget) the additionalContext tells the session to reply with the ending line
("deepplan: ..."), which claude -p then prints. {"systemMessage":"..."} alone allows the stop when something is
wrong (an unreadable plan or input); nothing is printed for another session's stop.
Exit status: always 0 (2 for bad arguments).`;

const PLAN_EXAMPLES = `
Examples:
  $ deepplan plan --request "Compare src/a.ts and src/b.ts for the Monday review; Ana, the lead, signs off." --out plans/compare.md
  $ deepplan plan --request @request.md --answers answers.yaml
  $ deepplan plan --request "Do an outreach for Mod Op" --yes        take the recommended interview answers

Paths of existing files in the request are source material. When two of success criteria, constraints and
stakeholders are missing, the pipeline interviews (what the job is and which account or entities, when the request
does not say): without --answers, --yes or a terminal it exits 3 and prints the questions. The request's own
"Success: …", constraints ("Constraints: a; b" or sentences), approver ("Dana Ruiz approves": the plan's owner,
who passes its human gates) and quality bar ("The quality bar is adversarial") go into the plan as they are.
Without a model key the offline planner plans only from a template that fits (plans/templates/*.yaml, by its
match words) and declines in one line otherwise.
The answers file (--answers answers.yaml): "id: answer" lines, and the skill audit's changes:
  skills:
    map: [seo-audit]              map a skill to the phase(s) that write what it writes (or its description fits)
    map: {seo-audit: P7}          or to the phases named (instead of the list form)
    exclude: [hubspot-sync]       exclude a skill the audit mapped (its step goes back to the step it replaced)
The plan is written only if it lints with no errors; a plan of 10+ phases or quality bar adversarial
is then reviewed (deepplan review) before anyone may approve it.
Exit status: 0 written, 1 the pipeline failed (or declined), 2 bad arguments, 3 questions need answers.`;

const REVIEW_EXAMPLES = `
Examples:
  $ deepplan review plans/modop-outreach.md                  up to 3 rounds, the planner revising in between
  $ deepplan review plans/modop-outreach.md --format md      a report fit for a pull-request comment
  $ deepplan review plans/x.md --reviewer openai/gpt-5.4 --format github
  $ deepplan review plans/x.md --rounds 1 --no-revise               one review, no revision

Each finding quotes the plan verbatim; a quote that is not in the plan marks the finding unverified, and it does
not count. The verdict is REVISE while a verified critical or high finding remains. Without a reviewer key the
offline reviewer (the lint rules plus heuristics for vague plans) reviews. After a REVISE the planner model revises
the plan (the diff is shown; only the passages it edits change) and the next round reviews it, up to 3 rounds per
plan; after 3 REVISE rounds the plan stays in_review. Reports go to reviews/<plan-id>/round-<n>.md and .json; the
cost of the model calls goes to standard error.
Exit status: 0 APPROVED, 1 REVISE (or the review failed), 2 bad arguments or no such file.`;

const RUN_EXAMPLES = `
Examples:
  $ deepplan run plans/modop-outreach.md --once          one iteration (for cron: the plan file is the memory)
  $ deepplan run plans/modop-outreach.md --loop          until TASK_COMPLETE or BLOCKED_NEED_HUMAN
  $ deepplan run plans/x.md --loop --max-iterations 5 --max-cost 2.00 --commit
  $ deepplan run plans/x.md --once --executor command    hand model steps to execute.agent.command (e.g. claude -p)

Each iteration reads the plan, checks pre-flight (file operations, skills, scope, branch), does exactly one action
(run: steps and tool skills as commands under bubblewrap; other steps by the executor model with one tool call),
appends one log row, checks the phase, applies the escape hatches and prints one signal as the last line:
CONTINUE, TASK_COMPLETE or BLOCKED_NEED_HUMAN (the blockers go to standard error and state.blockers).
Exit status: 0 CONTINUE or TASK_COMPLETE, 3 BLOCKED_NEED_HUMAN, 1 the run failed (a draft plan included: approve
it first), 2 bad arguments or no such file.`;

const APPROVE_EXAMPLES = `
Examples:
  $ deepplan approve plans/modop-outreach.md                                     approve the reviewed plan
  $ deepplan approve plans/modop-outreach.md P1 --by "Michael Chen" --note "go ahead"   pass P1's human gate
  $ deepplan approve plans/x.md P3 --retry --note "fixed the export script"      try P3 again

A phase's approval is a log row that names who approved ("approved by Michael Chen: go ahead"); the audit shows it.
The name is --by, else user.name of deepplan.config.yaml, else git config user.name; on a terminal with none of them
the command asks for it, elsewhere it refuses (exit 2).
Exit status: 0 recorded, 1 the phase is not waiting for a person (or the plan cannot be written), 2 bad arguments,
no such file, or no approver's name.`;

const CALIBRATE_EXAMPLES = `
Examples:
  $ deepplan calibrate --dry-run    how many past plans each candidate budget margin would have cut short
  $ deepplan calibrate              record finished plans and write the fitted margins

The margin is the smallest one under which at least 90% of past plans of a deliverable would have finished within
budget (priors.coverage); a deliverable needs 5 finished plans (priors.min_history) before its margin changes.
Plans then use it with budget.basis: calibrated.
Exit status: 0 fitted (and written unless --dry-run), 1 calibration/index.yaml cannot be read, 2 bad arguments.`;

const STATUS_EXAMPLES = `
Examples:
  $ deepplan status plans/nightly-backup.md
  $ deepplan status plans/nightly-backup.md --format json | jq .burndown

The burn-down chart draws the iterations left of the budget after each logged iteration beside the phases left,
scaled to the same height: a budget line below the phases line means the run burns faster than it progresses.
Exit status: 0 printed, 1 not a readable plan, 2 bad arguments or no such file.`;

const DOCTOR_EXAMPLES = `
Examples:
  $ deepplan doctor                 which model each role uses, and which keys are missing
  $ deepplan doctor --ping          ask each role's model for one tiny structured answer
  $ ANTHROPIC_BASE_URL=http://127.0.0.1:8080 deepplan doctor --ping --format json

Roles (planner, reviewer, executor, fallback) are set in deepplan.config.yaml under models:; keys come from
ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY (or GOOGLE_API_KEY); a role without a key runs offline.
Warnings: a configured model without a price (--max-cost refuses it), or with a price read more than 90 days ago.
Exit status: 0 all roles fine (warnings allowed), 1 a role failed its ping or the reviewer shares the planner's
provider, 2 bad arguments or an invalid deepplan.config.yaml.`;

/** `-f, --format <format>` of a command with machine output. */
function formatOption(choices: string[], fallback: string, description = 'output format'): Option {
  return new Option('-f, --format <format>', description).choices(choices).default(fallback);
}

/** `--json`, kept as the alias of `--format json` (an explicit --format wins). */
function jsonAlias(): Option {
  return new Option('--json', 'the same as --format json').implies({ format: 'json' });
}

/**
 * Runs a command that calls models, then prints what its calls cost and the ledger they went to on standard error;
 * when it fails, only if calls were made (a usage error stays one line). The ledger module is loaded afterwards.
 */
async function withCostLine(command: () => Promise<unknown>): Promise<void> {
  let failed = true;
  try {
    await command();
    failed = false;
  } finally {
    const { commandCostLine, commandSpend } = await import('../models/ledger.js');
    if (!failed || commandSpend().calls > 0) process.stderr.write(`${commandCostLine()}\n`);
  }
}

function parseCost(value: string): number {
  const cost = Number(value);
  if (!Number.isFinite(cost) || cost <= 0) throw new InvalidArgumentError('give a cost in US dollars, e.g. 2.50');
  return cost;
}

function parsePositiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('give a whole number of 1 or more');
  return number;
}



export async function main(argv: string[]): Promise<number> {
  const output = { exitCode: EXIT.ok as number };
  const program = buildProgram(output);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return output.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are not failures; everything else commander reports is a usage error.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help'
        ? EXIT.ok
        : EXIT.usage;
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
