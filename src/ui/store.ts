/**
 * The state a screen shows: the command's loop sets it, the Ink component re-renders (React's
 * useSyncExternalStore subscribes). Screens hold no state of their own beyond what the keys select.
 */
export class Store<S extends object> {
  private listeners = new Set<() => void>();
  constructor(protected state: S) {}
  get = (): S => this.state;
  set(patch: Partial<S>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }
  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };
}
