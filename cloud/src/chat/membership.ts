/**
 * Who may see a room, so who is in it. Users may be scoped to sites (config `users[].sites`);
 * a user without a scope works on every site, and admins always do.
 *
 * - site room: the users who work on the site;
 * - order room: the user who placed the order, and the users who work on the order's site
 *   (admins included) — the people who may see the order;
 * - direct room: its two members.
 *
 * An order room whose site is not known yet (made before rooms had one, and the order could not
 * be read) is shown to admins only.
 */
import type { User } from "../identity/index.js";
import type { RoomRow } from "./chat-store.js";

export class Membership {
  constructor(private readonly scopes: ReadonlyMap<string, ReadonlySet<string>> = new Map()) {}

  /** The scopes of the configured users that have one. */
  static fromUsers(users: readonly { username: string; sites?: readonly string[] | undefined }[]): Membership {
    const scopes = new Map<string, ReadonlySet<string>>();
    for (const u of users) if (u.sites) scopes.set(u.username, new Set(u.sites));
    return new Membership(scopes);
  }

  worksOn(user: User, siteId: string): boolean {
    if (user.role === "admin") return true;
    const scope = this.scopes.get(user.username);
    return scope === undefined || scope.has(siteId);
  }

  sees(user: User, room: RoomRow): boolean {
    switch (room.kind) {
      case "direct":
        return room.members?.includes(user.username) ?? false;
      case "site":
        return this.worksOn(user, room.siteId ?? room.id.slice("site:".length));
      case "order":
        if (room.owner === user.username || user.role === "admin") return true;
        return room.siteId !== null && this.worksOn(user, room.siteId);
      default:
        return false;
    }
  }
}
