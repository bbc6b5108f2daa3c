/**
 * The help texts printed after each command's usage (`deepplan <command> --help`): examples, what the command does
 * beyond its options, and its exit status. test/docs.test.ts checks them against docs/.
 */

export const ROOT_EXAMPLES = `
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

export const LINT_EXAMPLES = `
Examples:
  $ deepplan lint                              lint plans/**/*.md of this repository
  $ deepplan lint plans/modop-outreach.md      one plan
  $ deepplan lint 'plans/**/*.md' --format github   annotations for a GitHub Actions job
  $ deepplan lint plans --format sarif > deepplan.sarif

Rules and their severities: docs/rules.md; set them in deepplan.config.yaml (rules: {skill-unknown: off})
or per file with <!-- deepplan-disable rule-id -->.
Exit status: 0 no errors (warnings allowed), 1 at least one error, 2 bad arguments, a path that matches no file, or an
invalid deepplan.config.yaml.`;

export const PLAN_EXAMPLES = `
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

export const NEW_EXAMPLES = `
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

export const REVIEW_EXAMPLES = `
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

export const RUN_EXAMPLES = `
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

export const APPROVE_EXAMPLES = `
Examples:
  $ deepplan approve plans/modop-outreach.md                                     approve the reviewed plan
  $ deepplan approve plans/modop-outreach.md P1 --by "Michael Chen" --note "go ahead"   pass P1's human gate
  $ deepplan approve plans/x.md P3 --retry --note "fixed the export script"      try P3 again

A phase's approval is a log row that names who approved ("approved by Michael Chen: go ahead"); the audit shows it.
The name is --by, else user.name of deepplan.config.yaml, else git config user.name; on a terminal with none of them
the command asks for it, elsewhere it refuses (exit 2).
Exit status: 0 recorded, 1 the phase is not waiting for a person (or the plan cannot be written), 2 bad arguments,
no such file, or no approver's name.`;

export const AUDIT_EXAMPLES = `
Examples:
  $ deepplan audit plans/modop-outreach.md > audit.md
  $ deepplan audit plans/modop-outreach.md --format json | jq '.phases[] | select(.delivered == false)'

Exit status: 0 every phase delivered, 1 something required is not delivered (or not a readable plan), 2 bad arguments or
no such file.`;

export const STATUS_EXAMPLES = `
Examples:
  $ deepplan status plans/nightly-backup.md
  $ deepplan status plans/nightly-backup.md --format json | jq .burndown

The burn-down chart draws the iterations left of the budget after each logged iteration beside the phases left,
scaled to the same height: a budget line below the phases line means the run burns faster than it progresses.
Exit status: 0 printed, 1 not a readable plan, 2 bad arguments or no such file.`;

export const CALIBRATE_EXAMPLES = `
Examples:
  $ deepplan calibrate --dry-run    how many past plans each candidate budget margin would have cut short
  $ deepplan calibrate              record finished plans and write the fitted margins

The margin is the smallest one under which at least 90% of past plans of a deliverable would have finished within
budget (priors.coverage); a deliverable needs 5 finished plans (priors.min_history) before its margin changes.
Plans then use it with budget.basis: calibrated.
Exit status: 0 fitted (and written unless --dry-run), 1 calibration/index.yaml cannot be read, 2 bad arguments.`;

export const DOCTOR_EXAMPLES = `
Examples:
  $ deepplan doctor                 which model each role uses, and which keys are missing
  $ deepplan doctor --ping          ask each role's model for one tiny structured answer
  $ ANTHROPIC_BASE_URL=http://127.0.0.1:8080 deepplan doctor --ping --format json

Roles (planner, reviewer, executor, fallback) are set in deepplan.config.yaml under models:; keys come from
ANTHROPIC_API_KEY, OPENAI_API_KEY, GEMINI_API_KEY (or GOOGLE_API_KEY); a role without a key runs offline.
Warnings: a configured model without a price (--max-cost refuses it), or with a price read more than 90 days ago.
Exit status: 0 all roles fine (warnings allowed), 1 a role failed its ping or the reviewer shares the planner's
provider, 2 bad arguments or an invalid deepplan.config.yaml.`;

export const GRAPH_EXAMPLES = `
Examples:
  $ deepplan graph plans/modop-outreach.md                  the bare flowchart (mermaid-cli, an editor preview)
  $ deepplan graph plans/modop-outreach.md --format md > graph.md
      a \`\`\`mermaid block: GitHub renders it as a picture in a README, an issue or a pull-request comment

Arrows: Depends on (dotted: no Depends on, the phase follows the one above). Hexagon: human gate; double-edged
box: review gate. Colours: green done, blue active, red blocked, grey dashed pending.
Exit status: 0 printed, 1 not a readable plan (or no phases), 2 bad arguments or no such file.`;

export const INIT_EXAMPLES = `
Examples:
  $ deepplan init              write what is missing; existing files are skipped and listed
  $ deepplan init --force      overwrite deepplan.config.yaml, plans/example.md and the workflow

Writes, at the repository root: deepplan.config.yaml (every key, commented), plans/example.md (a plan that lints
clean), .github/workflows/deepplan.yml (lint and review plans on pull requests; docs/ci.md) and .deepplan/ in
.gitignore (appended once, never duplicated). One line per file: written, skipped (exists) or updated.
Outside a git repository it writes into the current folder and says so.
Exit status: 0 every file written, updated or skipped, 1 a file cannot be written, 2 bad arguments.`;

export const HOOK_EXAMPLES = `
Examples:
  $ deepplan hook start plans/modop-outreach.md --max-iterations 20   in Claude Code: /deepplan:loop plans/modop-outreach.md
  $ echo "$STOP_HOOK_JSON" | deepplan hook stop                         what the plugin's Stop hook runs
  $ deepplan hook cancel

Setup, the session guard and the budget: docs/claude-code.md.
Exit status: 2 for bad arguments; each subcommand's --help gives its own (deepplan hook stop always exits 0).`;

export const HOOK_START_EXAMPLES = `
Examples:
  $ deepplan hook start plans/modop-outreach.md
  $ deepplan hook start plans/x.md --max-iterations 10 --session "$CLAUDE_CODE_SESSION_ID"

Prints the first model step's prompt (the session carries it out and ends its turn; the Stop hook records it).
Under Claude Code (CLAUDECODE=1, its /deepplan:loop) it always exits 0 and prints the reason instead: Claude Code
treats a non-zero exit as a failed command, and the session would never see why.
Exit status: 0 the loop runs (or the plan is TASK_COMPLETE; always under Claude Code), 3 BLOCKED_NEED_HUMAN, 1 the
plan cannot run, 2 bad arguments, no such file or a folder.`;

export const HOOK_STOP_EXAMPLES = `
Examples:
  $ deepplan hook stop < stop-input.json
  $ deepplan hook stop --plan plans/modop-outreach.md --max-iterations 20 < stop-input.json

Prints {"hookSpecificOutput":{"hookEventName":"Stop","additionalContext":"<next step>"},"systemMessage":"..."}
while the plan says CONTINUE (the session carries the step out). When the loop ends (TASK_COMPLETE,
BLOCKED_NEED_HUMAN, the budget) the additionalContext tells the session to reply with the ending line
("deepplan: ..."), which claude -p then prints. {"systemMessage":"..."} alone allows the stop when something is
wrong (an unreadable plan or input); nothing is printed for another session's stop.
Exit status: always 0 (2 for bad arguments).`;

export const HOOK_CANCEL_EXAMPLES = `
Examples:
  $ deepplan hook cancel

Exit status: 0 the loop ended (or none was running), 1 .deepplan/loop.json cannot be removed, 2 bad arguments.`;

export const WORKER_HELP = `
Examples:
  $ deepplan worker --database-url postgresql://deepplan@db/deepplan --executor-id build-1
        serve the queue until stopped (run one per machine, each with its own --executor-id)
  $ deepplan worker plans/outreach.md --database-url "$DEEPPLAN_DATABASE_URL" --executor-id laptop
        start (or join) the plan's run, serve the queue, exit when the run ends

A worker killed mid-run loses nothing: start it again with the same --executor-id and its runs resume (the plan
file's log gets an "outcome unknown" row for an action cut short, as after any crash). Every worker must see the
same repository files (one machine, or a shared folder). docs/scale-out.md says when to use which runner.
Exit status: 0 CONTINUE or TASK_COMPLETE, 3 BLOCKED_NEED_HUMAN, 1 the run or the database failed, 2 bad arguments.`;

export const MATRIX_HELP = `
The workflow: deepplan init --workflow matrix; docs/scale-out.md.
Exit status: see each command.`;

export const MATRIX_READY_HELP = `
Examples:
  $ deepplan matrix ready plans/outreach.md     {"phase":["P2","P3","P4"],"count":3,"finish":false,"blocked":null}

finish is true when every phase is done and one serial run verifies the success criteria; blocked names what a
person must do first.
Exit status: 0 printed (count may be 0), 1 the plan cannot be read, 2 bad arguments.`;

export const MATRIX_RUN_HELP = `
Examples:
  $ deepplan matrix run plans/outreach.md --phase P3 --records deepplan-records

Runs in a job's own checkout: the phase's iterations change this copy's plan, and the record
(<records>/<plan id>.<phase>.json) is what the merge applies to the real one.
Exit status: 0 the phase is done, 3 it is blocked (the record says why), 1 the run failed, 2 bad arguments.`;

export const MATRIX_MERGE_HELP = `
Examples:
  $ deepplan matrix merge plans/outreach.md deepplan-records

Records already in the plan's log are skipped (a merge job run again writes nothing).
Exit status: 0 merged, 1 a record does not fit the plan (nothing is written), 2 bad arguments.`;
