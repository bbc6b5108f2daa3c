import { relative } from 'node:path';
import { Box, Static, Text, render, useApp, useInput } from 'ink';
import { useRef, useState, useSyncExternalStore } from 'react';
import type { LoopControl, LoopEvent } from '../execute/loop.js';
import type { Plan } from '../plan/types.js';
import type { WaveView } from '../runners/waves.js';
import { Store } from './store.js';
import { Hanging, Wrapped } from './layout.js';
import { RedrawProvider, RedrawStore, useStaticItems, watchNarrowing } from './redraw.js';
import { flat, MAX_WIDTH, tint, useLayoutWidth } from './style.js';

/**
 * The run dashboard of `deepplan run --loop` on a terminal. It only shows what the loop reports (src/execute/loop.ts
 * events, folded into the store) and passes keys back to the loop's control; it holds no logic of its own.
 * Log rows are printed once each, in Ink's <Static> above the live part (so a run of hundreds of iterations never
 * redraws them); the live part is the progress, the current action, the signal and the keys.
 */

export interface DashboardRow {
  number: number;
  action: string;
  result: string;
  signal: string;
}

export interface DashboardState {
  title: string;
  phasesDone: number;
  phasesTotal: number;
  currentPhase: string | null;
  iteration: number;
  budget: number | null;
  costUsd: number;
  action: string | null;
  /** Append-only: the rows printed so far and any new ones (a row once printed stays printed). */
  rows: DashboardRow[];
  signal: string | null;
  blockers: string[];
  /** A human gate waits and `a` may approve it. */
  gate: string | null;
  /** Who approves (user.name of the config, else git config user.name); absent or null: the person types a name. */
  approver?: string | null;
  paused: boolean;
  stopping: boolean;
  message: string | null;
  /** `run --parallel`: the phases running now, done and waiting (runners/waves.ts); absent for a serial run. */
  waves?: WaveView | null;
}

export interface DashboardKeys {
  pause(): void;
  stop(): void;
  /** The person confirmed: approve the waiting gate in `name`'s name. */
  approve(name: string): void;
  quit(): void;
}

/** The approval being asked for: the name being typed, or the y/n confirmation. */
type Asking = { step: 'name'; typed: string } | { step: 'confirm'; name: string } | null;

/** Rows shown when the dashboard opens: the last few of the log; every new row after that. */
const OPENING_ROWS = 8;

export class DashboardStore extends Store<DashboardState> {
  /** A store for `plan` as the run starts. */
  static open(plan: Plan, planPath: string, extra: Pick<DashboardState, 'approver' | 'message'>): DashboardStore {
    const store = new DashboardStore({
      ...planView(plan, planPath, []),
      costUsd: 0,
      action: null,
      signal: null,
      gate: null,
      paused: false,
      stopping: false,
      ...extra,
    });
    store.planPath = planPath;
    return store;
  }

  private planPath = '';

  /** Folds one loop event into what the screen shows. */
  apply(event: LoopEvent): void {
    switch (event.type) {
      case 'action':
        return this.set({ action: event.action });
      case 'notice':
        return this.set({ message: event.message });
      case 'gate':
        return this.set({ gate: event.gate });
      case 'iteration':
        return this.set({
          ...this.view(event.report.plan),
          costUsd: event.costUsd ?? this.state.costUsd,
          signal: event.report.signal,
          action: null,
          gate: event.gate,
        });
      case 'approved':
        return this.set({
          ...this.view(event.plan),
          gate: null,
          signal: null,
          approver: event.by,
          message: `${event.gate} approved by ${event.by}${event.note ? `; note: ${event.note}` : ''}`,
        });
      case 'not-approved':
        return this.set({ message: `not approved: ${event.problem}` });
      default:
        return undefined;
    }
  }

  /** The waves of `run --parallel` as they change. */
  showWaves(waves: WaveView): void {
    this.set({ waves });
  }

  private view(plan: Plan): ReturnType<typeof planView> {
    return planView(plan, this.planPath, this.state.rows);
  }
}

/** The plan's part of the state: progress, blockers, and the rows shown so far plus the new ones (each printed once). */
function planView(plan: Plan, planPath: string, shown: DashboardRow[]) {
  const last = shown[shown.length - 1]?.number ?? -Infinity;
  const fresh = (plan.log?.rows ?? [])
    .filter((row) => (row.number ?? 0) > last)
    .map((row) => ({ number: row.number ?? 0, action: row.action, result: row.result, signal: row.signal }));
  const shownPath = relative(process.cwd(), planPath);
  return {
    title: `${plan.meta.title ?? shownPath} (${shownPath})`,
    phasesDone: plan.phases.filter((phase) => phase.status === 'done').length,
    phasesTotal: plan.phases.length,
    currentPhase: plan.meta.state?.phase ?? null,
    iteration: plan.log?.rows.length ?? 0,
    budget: plan.meta.budget?.max_iterations ?? null,
    rows: shown.length === 0 ? fresh.slice(-OPENING_ROWS) : [...shown, ...fresh],
    blockers: plan.meta.state?.blockers ?? [],
  };
}

/** The progress bar's length: 30 cells, fewer on a narrow terminal. */
const barLength = (width: number) => Math.max(10, Math.min(30, width - 30));

function bar(done: number, total: number, length: number): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * length);
  return `${'█'.repeat(filled)}${'░'.repeat(length - filled)}`;
}

const colourOf = (value: string) =>
  tint(
    value === 'ok' || value === 'TASK_COMPLETE'
      ? 'green'
      : value === 'failed' || value === 'blocked' || value === 'BLOCKED_NEED_HUMAN'
        ? 'red'
        : value === 'no-change'
          ? 'yellow'
          : undefined,
  );

/** The row's number, result and signal columns: the action wraps beside them. */
const ROW_LEAD = 4 + 1 + 9 + 1 + 18 + 1;

function Row({ row, width }: { row: DashboardRow; width: number }) {
  const lead = (
    <>
      {String(row.number).padStart(4)} <Text color={colourOf(row.result)}>{row.result.padEnd(9)}</Text>{' '}
      <Text color={colourOf(row.signal)}>{row.signal.padEnd(18)}</Text>{' '}
    </>
  );
  return (
    <Box width={width}>
      <Hanging lead={lead} width={ROW_LEAD}>
        {flat(row.action)}
      </Hanging>
    </Box>
  );
}

/** `running P2 P3 P4 P5 · done 3 · waiting 14`: the phases of the wave under way, and how many are done or wait. */
export function wavesLine(waves: WaveView): string {
  const running = waves.running.length > 0 ? `running ${waves.running.join(' ')}` : 'running -';
  return `${running} · done ${waves.done.length} · waiting ${waves.waiting.length}`;
}

export function RunDashboard({ store, keys }: { store: DashboardStore; keys: DashboardKeys }) {
  const state = useSyncExternalStore(store.subscribe, store.get);
  const width = useLayoutWidth();
  const rows = useStaticItems(state.rows);
  const { exit } = useApp();
  // `a` asks before it approves: "Approve P3 as Dana Ruiz? y/n" (the name typed first when none is known); `y`
  // approves, any other key cancels. The loop checks the name and writes the row.
  // The current question is kept in a ref as well, so that keys arriving before the next render see it.
  const [asking, setAskingState] = useState<Asking>(null);
  const askingRef = useRef<Asking>(null);
  const setAsking = (next: Asking) => {
    askingRef.current = next;
    setAskingState(next);
  };
  const [cancelled, setCancelled] = useState(false);
  const open = asking !== null && state.gate !== null ? asking : null;
  useInput((input, key) => {
    const current = askingRef.current !== null && state.gate !== null ? askingRef.current : null;
    if (current?.step === 'name') {
      if (key.return) {
        const name = current.typed.replace(/\s+/g, ' ').trim();
        if (name === '') {
          setAsking(null);
          setCancelled(true);
        } else setAsking({ step: 'confirm', name });
      } else if (key.escape) {
        setAsking(null);
        setCancelled(true);
      } else if (key.backspace || key.delete) setAsking({ step: 'name', typed: current.typed.slice(0, -1) });
      else if (!key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow && !key.leftArrow && !key.rightArrow && input) {
        setAsking({ step: 'name', typed: `${current.typed}${input}` });
      }
      return;
    }
    if (current?.step === 'confirm') {
      setAsking(null);
      if (input === 'y' || input === 'Y') keys.approve(current.name);
      else setCancelled(true);
      return;
    }
    if (input === 'a' && state.gate) {
      setCancelled(false);
      setAsking(state.approver ? { step: 'confirm', name: state.approver } : { step: 'name', typed: '' });
    } else if (input === 'p') keys.pause();
    else if (input === 's') keys.stop();
    else if (input === 'q') {
      keys.quit();
      exit();
    }
  });
  return (
    // The live part takes Ink's width (the terminal's, re-read at once on a resize); a static row is laid out on its own.
    <Box flexDirection="column" maxWidth={MAX_WIDTH}>
      <Static key={rows.key} items={rows.items}>
        {(row) => <Row key={row.number} row={row} width={width} />}
      </Static>
      <Wrapped bold>{flat(state.title)}</Wrapped>
      <Hanging lead="phases" width={11}>
        {bar(state.phasesDone, state.phasesTotal, barLength(width))} {state.phasesDone}/{state.phasesTotal}
        {state.currentPhase ? ` at ${state.currentPhase}` : ''}
      </Hanging>
      <Hanging lead="iterations" width={11}>
        {`${state.iteration} of ${state.budget ?? '?'}   cost $${state.costUsd.toFixed(4)}`}
      </Hanging>
      {state.waves ? (
        <Hanging lead="waves" width={11}>
          {wavesLine(state.waves)}
        </Hanging>
      ) : null}
      <Hanging lead="now" width={11}>
        {state.action ? flat(state.action) : '-'}
      </Hanging>
      <Box flexDirection="column" marginTop={1}>
        {state.signal ? (
          <Text>
            signal{' '}
            <Text bold color={colourOf(state.signal)}>
              {state.signal}
            </Text>
          </Text>
        ) : null}
        {state.blockers.map((blocker) => (
          <Wrapped key={blocker} color={tint('red')}>
            blocked: {flat(blocker)}
          </Wrapped>
        ))}
        {state.message ? <Wrapped dimColor>{flat(state.message)}</Wrapped> : null}
        {open?.step === 'confirm' ? (
          <Wrapped bold>
            Approve {state.gate} as {flat(open.name)}? y/n
          </Wrapped>
        ) : open?.step === 'name' ? (
          <Wrapped bold>
            Approve {state.gate} as (type your name, Enter; Esc cancels): {flat(open.typed)}▏
          </Wrapped>
        ) : (
          <Wrapped dimColor>
            {cancelled && state.gate ? `${state.gate} not approved · ` : ''}
            {state.paused ? 'paused · p resume' : 'p pause'} · s stop{state.gate ? ` · a approve ${state.gate}` : ''} · q quit
            {state.stopping ? ' · stopping after this iteration' : ''}
          </Wrapped>
        )}
      </Box>
    </Box>
  );
}

export function renderRunDashboard(store: DashboardStore, keys: DashboardKeys) {
  const redraw = new RedrawStore({ epoch: 0, rows: 0 });
  const app = render(
    <RedrawProvider store={redraw}>
      <RunDashboard store={store} keys={keys} />
    </RedrawProvider>,
    { stdout: process.stdout, stdin: process.stdin, exitOnCtrlC: false, patchConsole: false },
  );
  const unwatch = watchNarrowing(process.stdout, redraw);
  app.waitUntilExit().then(unwatch, unwatch);
  return app;
}

/** Who reports the waves of `run --parallel` (runners/waves.ts Waves). */
export interface WaveSource {
  watch(onWave: (view: WaveView) => void): void;
}

/** What shows the dashboard: Ink on the terminal (renderRunDashboard), or a test's renderer. */
export type DashboardMount = (store: DashboardStore, keys: DashboardKeys) => { unmount(): void };

/**
 * Opens the dashboard over a loop: its keys drive `control`, and `onEvent` is the loop's listener. close() takes it
 * down: at once after an error, else after Ink has drawn the last state (it throttles frames).
 */
export function openRunDashboard(store: DashboardStore, control: LoopControl, mount: DashboardMount = renderRunDashboard, waves?: WaveSource | null) {
  waves?.watch((view) => store.showWaves(view));
  const app = mount(store, {
    pause: () => store.set({ paused: control.togglePause() }),
    stop() {
      control.stop();
      store.set({ stopping: true });
    },
    approve: (name) => control.approve(name),
    quit: () => control.stop(),
  });
  // A terminal that goes away (stdin closed) quits rather than leaving the loop waiting for a key.
  const onEnd = () => control.stop();
  process.stdin.once('end', onEnd);
  return {
    onEvent: (event: LoopEvent) => store.apply(event),
    async close(settle: boolean): Promise<void> {
      process.stdin.off('end', onEnd);
      if (settle) await new Promise((resolve) => setTimeout(resolve, 120));
      app.unmount();
    },
  };
}
