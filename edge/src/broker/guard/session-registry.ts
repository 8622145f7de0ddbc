/**
 * Persistent sessions (clean session = 0) the broker holds, so that CONNACK "session present"
 * is right even for a session without subscriptions [MQTT-3.2.2-2] (aedes 1.x derives it from
 * stored subscriptions only), and so that sessions that never come back expire instead of
 * holding memory forever.
 */
interface Session {
  connections: number;
  lastSeenMs: number;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();

  /** A CONNACK 0 went out; returns whether a session was present [MQTT-3.2.2-1..3]. */
  connected(clientId: string, clean: boolean, nowMs: number): boolean {
    if (clean) {
      // A clean connection ends any previous session; it keeps none of its own after it.
      this.sessions.delete(clientId);
      return false;
    }
    const existing = this.sessions.get(clientId);
    if (existing) {
      existing.connections++;
      existing.lastSeenMs = nowMs;
      return true;
    }
    this.sessions.set(clientId, { connections: 1, lastSeenMs: nowMs });
    return false;
  }

  disconnected(clientId: string, nowMs: number): void {
    const s = this.sessions.get(clientId);
    if (!s) return;
    s.connections = Math.max(0, s.connections - 1);
    s.lastSeenMs = nowMs;
  }

  /** Removes and returns the sessions offline for longer than expiryMs. */
  expire(nowMs: number, expiryMs: number): string[] {
    const out: string[] = [];
    for (const [id, s] of this.sessions) {
      if (s.connections === 0 && nowMs - s.lastSeenMs >= expiryMs) {
        this.sessions.delete(id);
        out.push(id);
      }
    }
    return out;
  }

  get size(): number {
    return this.sessions.size;
  }
}
