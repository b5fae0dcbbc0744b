/** A minimal typed event hub: listener errors are reported, never allowed to corrupt the model. */
export type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEvents<E extends { [K in keyof E]: unknown[] }> {
  private readonly listeners = new Map<keyof E, Set<Listener<never[]>>>();

  constructor(private readonly onListenerError: (event: string, err: unknown) => void) {}

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as unknown as Listener<never[]>);
    return () => this.off(event, listener);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    this.listeners.get(event)?.delete(listener as unknown as Listener<never[]>);
  }

  emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of [...set]) {
      try {
        (l as unknown as Listener<E[K]>)(...args);
      } catch (err) {
        this.onListenerError(String(event), err);
      }
    }
  }
}
