/**
 * The RMs that share one cluster model, and which of them is active (reference §3). A standby
 * learns the active RM from this group, the way the real one asks every rm-id over HA RPC.
 */
/** `HAServiceProtocol.HAServiceState` names as JAXB writes them. */
export type HaState = 'INITIALIZING' | 'ACTIVE' | 'STANDBY' | 'STOPPING';

/** What the group needs of an RM (rm-server.ts implements it; this file imports nothing of it). */
export interface HaMember {
  haState: HaState;
  readonly running: boolean;
  readonly url: string;
  becomeActive(): void;
}

export class RmGroup<M extends HaMember = HaMember> {
  readonly members: M[] = [];

  constructor(readonly ha: boolean) {}

  /** The RM a standby would redirect to: another member that is up and ACTIVE. */
  activeExcept(self: M): M | undefined {
    return this.members.find((m) => m !== self && m.running && m.haState === 'ACTIVE');
  }

  active(): M | undefined {
    return this.members.find((m) => m.running && m.haState === 'ACTIVE');
  }

  /**
   * Swap roles: the active RM becomes STANDBY and the first standby takes over, rebuilding its
   * state from NM registrations (overrides forgotten, new cluster timestamp).
   */
  failover(): M {
    const current = this.members.find((m) => m.haState === 'ACTIVE');
    const next = this.members.find((m) => m !== current && m.haState !== 'ACTIVE');
    if (!next) throw new Error('failover needs a second ResourceManager (start the simulator with ha: true)');
    if (current) current.haState = 'STANDBY';
    next.becomeActive();
    return next;
  }

  /** Force one RM's HA state; becoming ACTIVE resets the model as a real transition would. */
  setHaState(rm: M, state: HaState): void {
    if (state === 'ACTIVE') {
      if (rm.haState !== 'ACTIVE') rm.becomeActive();
      return;
    }
    rm.haState = state;
  }
}
