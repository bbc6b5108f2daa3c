import { Box, Static, Text, render, useApp, useInput } from 'ink';
import { useRef, useState, useSyncExternalStore } from 'react';
import { Store } from './store.js';
import { Hanging, Wrapped } from './layout.js';
import { RedrawProvider, RedrawStore, useStaticItems, watchNarrowing } from './redraw.js';
import { flat, MAX_WIDTH, tint, useLayoutWidth } from './style.js';

/**
 * The run dashboard of `deepplan run --loop` on a terminal. It only shows what the engine reports (the state the
 * loop in src/cli/run-command.ts keeps from the engine's events) and passes keys back; it holds no logic of its own.
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

export class DashboardStore extends Store<DashboardState> {}

/** The progress bar's length: 30 cells, fewer on a narrow terminal. */
const barLength = (width: number) => Math.max(10, Math.min(30, width - 30));

function bar(done: number, total: number, length: number): string {
  const filled = total === 0 ? 0 : Math.round((done / total) * length);
  return `${'█'.repeat(filled)}${'░'.repeat(length - filled)}`;
}

const colourOf = (value: string) =>
  tint(value === 'ok' || value === 'TASK_COMPLETE' ? 'green' : value === 'failed' || value === 'blocked' || value === 'BLOCKED_NEED_HUMAN' ? 'red' : value === 'no-change' ? 'yellow' : undefined);

/** The row's number, result and signal columns: the action wraps beside them. */
const ROW_LEAD = 4 + 1 + 9 + 1 + 18 + 1;

function Row({ row, width }: { row: DashboardRow; width: number }) {
  const lead = (
    <>
      {String(row.number).padStart(4)} <Text color={colourOf(row.result)}>{row.result.padEnd(9)}</Text> <Text color={colourOf(row.signal)}>{row.signal.padEnd(18)}</Text>{' '}
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
      <Wrapped bold>
        {flat(state.title)}
      </Wrapped>
      <Hanging lead="phases" width={11}>
        {bar(state.phasesDone, state.phasesTotal, barLength(width))} {state.phasesDone}/{state.phasesTotal}
        {state.currentPhase ? ` at ${state.currentPhase}` : ''}
      </Hanging>
      <Hanging lead="iterations" width={11}>
        {state.iteration} of {state.budget ?? '?'}   cost ${state.costUsd.toFixed(4)}
      </Hanging>
      <Hanging lead="now" width={11}>
        {state.action ? flat(state.action) : '-'}
      </Hanging>
      <Box flexDirection="column" marginTop={1}>
        {state.signal ? (
          <Text>
            signal <Text bold color={colourOf(state.signal)}>{state.signal}</Text>
          </Text>
        ) : null}
        {state.blockers.map((blocker) => (
          <Wrapped key={blocker} color={tint('red')}>
            blocked: {flat(blocker)}
          </Wrapped>
        ))}
        {state.message ? (
          <Wrapped dimColor>
            {flat(state.message)}
          </Wrapped>
        ) : null}
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
            {state.paused ? 'paused · p resume' : 'p pause'} · s stop{state.gate ? ` · a approve ${state.gate}` : ''} · q quit{state.stopping ? ' · stopping after this iteration' : ''}
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
