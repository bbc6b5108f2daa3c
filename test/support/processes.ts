import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * The processes running now besides this one, read from /proc (ps would list itself): each one's command line
 * (arguments joined by spaces) and working folder (null where it cannot be read; " (deleted)" taken off). A process
 * that ends meanwhile is left out.
 */
export function otherProcesses(): Array<{ pid: number; command: string; cwd: string | null }> {
  const found: Array<{ pid: number; command: string; cwd: string | null }> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let cwd: string | null = null;
      try {
        cwd = readlinkSync(`/proc/${entry}/cwd`).replace(/ \(deleted\)$/, '');
      } catch {
        // Not ours to read.
      }
      found.push({ pid: Number(entry), command, cwd });
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}
