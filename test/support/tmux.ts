import { execFileSync, spawnSync } from 'node:child_process';

/**
 * A real terminal for a test: one tmux server per terminal (its own `-L` socket), so that ending one terminal never
 * races another being started. tmux exits its server when the last session ends; a `new-session` that connects to a
 * server in the middle of exiting fails with "server exited unexpectedly", which is what sharing a server (the default
 * one, or one per test file reused after a kill) did under load.
 */
export const hasTmux = spawnSync('tmux', ['-V']).status === 0;

let opened = 0;
const live = new Set<Terminal>();

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class Terminal {
  readonly socket: string;
  readonly session = 'main';

  constructor(command: string, width: number, height: number) {
    this.socket = `deepplan-test-${process.pid}-${++opened}-${Math.random().toString(36).slice(2, 8)}`;
    // -f /dev/null: no user configuration changes the terminal under test.
    execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', 'new-session', '-d', '-s', this.session, '-x', String(width), '-y', String(height), command]);
    live.add(this);
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** What the terminal shows now. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.session);
  }

  /** Everything the terminal has shown, scrollback included. */
  history(): string {
    return this.tmux('capture-pane', '-p', '-S', '-', '-t', this.session);
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.session, ...keys);
  }

  resize(width: number, height: number): void {
    this.tmux('resize-window', '-t', this.session, '-x', String(width), '-y', String(height));
  }

  /** Waits until `text` is on the screen; `settleMs` then lets a throttled Ink frame land before reading it again. */
  async waitFor(text: string, { timeoutMs = 20_000, settleMs = 0 } = {}): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const shown = this.screen();
      if (shown.includes(text)) {
        if (settleMs === 0) return shown;
        await sleep(settleMs);
        return this.screen();
      }
      if (Date.now() > deadline) throw new Error(`"${text}" never appeared; the screen shows:\n${shown}`);
      await sleep(100);
    }
  }

  /** Ends the terminal and its server. */
  close(): void {
    live.delete(this);
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

/** Opens a terminal of `width` × `height` running `command` under `sh -c`. */
export function openTerminal(command: string, width = 100, height = 30): Terminal {
  return new Terminal(command, width, height);
}

/** Closes every terminal still open (for afterEach). */
export function closeTerminals(): void {
  for (const terminal of [...live]) terminal.close();
}
