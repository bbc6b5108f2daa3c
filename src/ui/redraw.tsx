import { createContext, use, useMemo, useSyncExternalStore, type ReactNode } from 'react';
import { Store } from './store.js';

/**
 * Redrawing after the terminal gets narrower. A terminal re-wraps (reflows) the lines already on the screen to the
 * new width, so the live frame Ink drew then takes more rows than Ink counts, and erasing it leaves its top lines
 * behind: duplicate lines. So, before Ink redraws, the visible screen is cleared, and the screens print their
 * finished lines (Ink's <Static>) again, as many as the screen has rows, at the new width. A wider terminal needs
 * none of this: lines that fit the old width fit the new one.
 */

interface RedrawState {
  /** Bumped on every narrowing: the <Static> of each screen is keyed on it, so it prints its items again. */
  epoch: number;
  /** The terminal's rows when it was cleared: how many finished items are printed again. */
  rows: number;
}

export class RedrawStore extends Store<RedrawState> {}

const RedrawContext = createContext<RedrawStore>(new RedrawStore({ epoch: 0, rows: 0 }));

export function RedrawProvider({ store, children }: { store: RedrawStore; children: ReactNode }) {
  return <RedrawContext value={store}>{children}</RedrawContext>;
}

/** Clears the screen when the terminal gets narrower (before Ink's own 'resize' listener redraws); returns the unsubscribe. */
export function watchNarrowing(stdout: NodeJS.WriteStream, store: RedrawStore): () => void {
  let columns = stdout.columns ?? 0;
  const onResize = () => {
    const now = stdout.columns ?? 0;
    if (now > 0 && now < columns) {
      // Erase the visible screen and home the cursor; the scrollback keeps what was there.
      stdout.write('\u001B[2J\u001B[H');
      store.set({ epoch: store.get().epoch + 1, rows: stdout.rows ?? 24 });
    }
    columns = now;
  };
  // prependListener: ahead of Ink's listener, which redraws at once.
  stdout.prependListener('resize', onResize);
  return () => {
    stdout.off('resize', onResize);
  };
}

/** The finished items for <Static>, and its key: after a narrowing, a new <Static> with the last screenful of items. */
export function useStaticItems<T>(items: T[]): { key: string; items: T[] } {
  const store = use(RedrawContext);
  const { epoch, rows } = useSyncExternalStore(store.subscribe, store.get);
  // The first item to print again is fixed when the screen is cleared; items that arrive later are appended to it.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  const start = useMemo(() => (epoch === 0 ? 0 : Math.max(0, items.length - Math.max(rows - 2, 1))), [epoch]);
  return { key: `static-${epoch}`, items: start === 0 ? items : items.slice(start) };
}
